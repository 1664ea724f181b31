#include "sarseg/train/distributed.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "process_group.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

// NCCL exists in a CUDA build of LibTorch 2.x only (CMake defines SARSEG_HAVE_NCCL there); the CPU
// build never includes it.
#if defined(SARSEG_HAVE_NCCL) && TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define SARSEG_NCCL 1
#else
#define SARSEG_NCCL 0
#endif

namespace sarseg::train {

// LibTorch 2.x split the process group into a front (ProcessGroup) and backends; Gloo and NCCL are
// Backends there and ProcessGroups in 1.13, with the same collective calls.
#if TORCH_VERSION_MAJOR >= 2
using C10dGroup = c10d::Backend;
#else
using C10dGroup = c10d::ProcessGroup;
#endif

class ProcessGroupHandle::Backend {
 public:
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<C10dGroup> group;
};

namespace {

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

int parse_int(const std::string& name, const std::string& value, int low, int high) {
  char* end = nullptr;
  errno = 0;
  const long parsed = std::strtol(value.c_str(), &end, 10);
  require(!value.empty() && end && *end == '\0' && errno == 0 && parsed >= low && parsed <= high,
          "environment variable " + name + "='" + value + "' must be a whole number in [" +
              std::to_string(low) + ", " + std::to_string(high) + "]");
  return static_cast<int>(parsed);
}

std::chrono::milliseconds timeout_of(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g s", seconds);
  return text;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry ends at a comma outside brackets.
  std::string entry;
  int depth = 0;
  for (char c : nodelist) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) break;
    entry += c;
  }
  const auto open = entry.find('[');
  if (open == std::string::npos) return trim(entry);
  const auto close = entry.find(']', open);
  require(close != std::string::npos, "SLURM node list '" + nodelist + "' has an unclosed '['");
  std::string range = entry.substr(open + 1, close - open - 1);
  range = range.substr(0, range.find(','));
  range = range.substr(0, range.find('-'));
  return trim(entry.substr(0, open) + range + entry.substr(close + 1));
}

DistributedEnv parse_distributed_env(const EnvLookup& lookup) {
  DistributedEnv env;
  const auto get = [&](const std::string& name) -> std::optional<std::string> {
    auto value = lookup(name);
    if (value && trim(*value).empty()) return std::nullopt;
    return value;
  };
  constexpr int kMax = std::numeric_limits<int>::max();
  const auto rank = get("RANK"), world = get("WORLD_SIZE");
  if (rank || world) {
    require(rank && world,
            "set both RANK and WORLD_SIZE (torchrun-style), or neither for one process");
    env.source = "torchrun";
    env.world_size = parse_int("WORLD_SIZE", *world, 1, kMax);
    env.rank = parse_int("RANK", *rank, 0, env.world_size - 1);
    env.local_rank = get("LOCAL_RANK") ? parse_int("LOCAL_RANK", *get("LOCAL_RANK"), 0, kMax) : 0;
  } else if (get("SLURM_PROCID") && get("SLURM_NTASKS")) {
    env.source = "slurm";
    env.world_size = parse_int("SLURM_NTASKS", *get("SLURM_NTASKS"), 1, kMax);
    env.rank = parse_int("SLURM_PROCID", *get("SLURM_PROCID"), 0, env.world_size - 1);
    env.local_rank =
        get("SLURM_LOCALID") ? parse_int("SLURM_LOCALID", *get("SLURM_LOCALID"), 0, kMax) : 0;
    if (!get("MASTER_ADDR") && env.world_size > 1) {
      const auto nodes =
          get("SLURM_JOB_NODELIST") ? get("SLURM_JOB_NODELIST") : get("SLURM_NODELIST");
      require(nodes.has_value(),
              "SLURM_NTASKS=" + std::to_string(env.world_size) +
                  " but neither MASTER_ADDR nor SLURM_JOB_NODELIST is set: export MASTER_ADDR");
      env.master_addr = first_slurm_host(*nodes);
    }
  } else {
    return env;  // one process
  }
  if (const auto addr = get("MASTER_ADDR")) env.master_addr = trim(*addr);
  if (const auto port = get("MASTER_PORT"))
    env.master_port = parse_int("MASTER_PORT", *port, 1, 65535);
  return env;
}

DistributedEnv distributed_env_from_process() {
  return parse_distributed_env([](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  });
}

// ---- the process group ----

ProcessGroupHandle::ProcessGroupHandle(std::shared_ptr<Backend> backend, int rank, int world_size,
                                       double timeout_s)
    : backend_(std::move(backend)), rank_(rank), world_size_(world_size), timeout_s_(timeout_s) {}

ProcessGroupHandle::~ProcessGroupHandle() = default;

namespace {
// `launch` starts the collectives (one or several) and returns their work handles.
template <typename Launch>
void run_collective(Launch&& launch, int rank, int world, double timeout_s, const std::string& what,
                    double& seconds) {
  const auto start = std::chrono::steady_clock::now();
  try {
    for (auto& work : launch())
      work->wait(timeout_of(timeout_s));
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(rank) + " of " + std::to_string(world) + ": " +
                           what + " failed: a peer process stopped or did not answer within " +
                           seconds_text(timeout_s) + " (" + first_line(e.what()) + ")");
  }
  seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

void ProcessGroupHandle::all_reduce_sum(std::vector<torch::Tensor>& tensors,
                                        const std::string& what) {
  run_collective(
      [&] {
        c10d::AllreduceOptions options;
        options.reduceOp = c10d::ReduceOp::SUM;
        std::vector<c10::intrusive_ptr<c10d::Work>> works;
        // One collective per tensor, all started before the first wait.
        for (auto& tensor : tensors) {
          std::vector<torch::Tensor> one = {tensor};
          works.push_back(backend_->group->allreduce(one, options));
        }
        return works;
      },
      rank_, world_size_, timeout_s_, what, collective_seconds_);
}

void ProcessGroupHandle::broadcast(std::vector<torch::Tensor>& tensors, int root,
                                   const std::string& what) {
  run_collective(
      [&] {
        c10d::BroadcastOptions options;
        options.rootRank = root;
        std::vector<c10::intrusive_ptr<c10d::Work>> works;
        for (auto& tensor : tensors) {
          std::vector<torch::Tensor> one = {tensor};
          works.push_back(backend_->group->broadcast(one, options));
        }
        return works;
      },
      rank_, world_size_, timeout_s_, what, collective_seconds_);
}

void ProcessGroupHandle::barrier(const std::string& what) {
  run_collective(
      [&] { return std::vector<c10::intrusive_ptr<c10d::Work>>{backend_->group->barrier()}; },
      rank_, world_size_, timeout_s_, what, collective_seconds_);
}

bool any_rank(ProcessGroupHandle* group, bool mine, const std::string& what) {
  if (!group) return mine;
  std::vector<torch::Tensor> flag = {torch::full({1}, mine ? 1 : 0, torch::kInt64)};
  group->all_reduce_sum(flag, what);
  return flag[0].item<int64_t>() > 0;
}

GradientAllReducer::GradientAllReducer(std::vector<torch::Tensor> parameters,
                                       ProcessGroupHandle& group, int64_t bucket_bytes)
    : parameters_(std::move(parameters)), group_(group) {
  // Buckets in registration order, each of one dtype and device, up to bucket_bytes.
  int64_t bytes = 0;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto& p = parameters_[i];
    const int64_t size = p.numel() * static_cast<int64_t>(p.element_size());
    const bool fits = !buckets_.empty() && bytes + size <= bucket_bytes &&
                      parameters_[buckets_.back().front()].dtype() == p.dtype() &&
                      parameters_[buckets_.back().front()].device() == p.device();
    if (!fits) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().push_back(i);
    bytes += size;
  }
  for (const auto& bucket : buckets_) {
    int64_t numel = 0;
    for (size_t i : bucket)
      numel += parameters_[i].numel();
    const auto& first = parameters_[bucket.front()];
    buffers_.push_back(torch::empty({numel}, first.options().requires_grad(false)));
  }
}

void GradientAllReducer::all_reduce(torch::Tensor& extra, double scale) {
  torch::NoGradGuard no_grad;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    int64_t offset = 0;
    auto& buffer = buffers_[b];
    for (size_t i : buckets_[b]) {
      const auto& p = parameters_[i];
      auto slice = buffer.narrow(0, offset, p.numel());
      if (p.grad().defined()) {
        slice.copy_(p.grad().reshape({-1}));
      } else {
        slice.zero_();
      }
      offset += p.numel();
    }
    if (scale != 1.0) buffer.mul_(scale);
  }
  // Every bucket and the small `extra` are in flight together.
  std::vector<torch::Tensor> tensors = buffers_;
  tensors.push_back(extra);
  group_.all_reduce_sum(tensors, "the gradient all-reduce");
  const double inverse = 1.0 / static_cast<double>(group_.world_size());
  for (size_t b = 0; b < buckets_.size(); ++b) {
    auto& buffer = buffers_[b];
    buffer.mul_(inverse);
    int64_t offset = 0;
    for (size_t i : buckets_[b]) {
      auto& p = parameters_[i];
      // A parameter without a gradient (a frozen encoder) has none on every rank: it stays so.
      if (p.grad().defined())
        p.mutable_grad().copy_(buffer.narrow(0, offset, p.numel()).view(p.sizes()));
      offset += p.numel();
    }
  }
}

void broadcast_module_state(torch::nn::Module& module, ProcessGroupHandle& group) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors;
  for (auto& p : module.parameters())
    tensors.push_back(p);
  for (auto& b : module.buffers())
    tensors.push_back(b);
  // Gloo works on contiguous tensors in place; other layouts (channels-last) go through a copy.
  std::vector<torch::Tensor> dense;
  for (auto& t : tensors)
    dense.push_back(t.is_contiguous() ? t : t.contiguous());
  group.broadcast(dense, 0, "broadcasting the initial weights from rank 0");
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!dense[i].is_same(tensors[i])) tensors[i].copy_(dense[i]);
}

void average_module_buffers(torch::nn::Module& module, ProcessGroupHandle& group) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> buffers, dense;
  for (auto& b : module.buffers()) {
    if (!b.is_floating_point()) continue;  // BatchNorm's batch counter is the same everywhere
    buffers.push_back(b);
    dense.push_back(b.is_contiguous() ? b : b.contiguous());
  }
  if (buffers.empty()) return;
  group.all_reduce_sum(dense, "averaging the BatchNorm statistics");
  for (size_t i = 0; i < buffers.size(); ++i) {
    dense[i].div_(static_cast<double>(group.world_size()));
    if (!dense[i].is_same(buffers[i])) buffers[i].copy_(dense[i]);
  }
}

// ---- the context ----

struct DistributedContext::Impl {
  DistributedEnv env;
  DistributedOptions options;
  std::string backend = "none";
  std::unique_ptr<ProcessGroupHandle> group;
};

DistributedContext::DistributedContext() : impl_(std::make_unique<Impl>()) {}
DistributedContext::~DistributedContext() = default;

int DistributedContext::rank() const {
  return impl_->env.rank;
}
int DistributedContext::world_size() const {
  return impl_->env.world_size;
}
int DistributedContext::local_rank() const {
  return impl_->env.local_rank;
}
double DistributedContext::timeout_s() const {
  return impl_->options.timeout_s;
}
std::string DistributedContext::backend() const {
  return impl_->backend;
}
std::string DistributedContext::describe() const {
  return "rank " + std::to_string(rank()) + " of " + std::to_string(world_size());
}
ProcessGroupHandle* DistributedContext::group() const {
  return impl_->group.get();
}

std::unique_ptr<DistributedContext> DistributedContext::connect(const DistributedEnv& env,
                                                                const DistributedOptions& options,
                                                                const std::string& device) {
  auto context = std::make_unique<DistributedContext>();
  context->impl_->env = env;
  context->impl_->options = options;
  if (!env.distributed()) return context;
  require(options.timeout_s > 0, "the distributed timeout must be positive");
  const bool cuda = device.rfind("cuda", 0) == 0;
  std::string backend = options.backend == "auto" ? (cuda ? "nccl" : "gloo") : options.backend;
  require(backend == "gloo" || backend == "nccl",
          "distributed backend '" + options.backend + "' is not known; use auto, gloo or nccl");
  if (backend == "nccl") {
    require(SARSEG_NCCL && cuda,
            std::string("the nccl backend needs ") +
                (cuda ? "a CUDA build of LibTorch 2.x with NCCL (this build has none)"
                      : "train.device=cuda") +
                "; use the gloo backend");
  }
  const std::string address = env.master_addr + ":" + std::to_string(env.master_port);
  const auto timeout = timeout_of(options.timeout_s);
  auto backend_state = std::make_shared<ProcessGroupHandle::Backend>();
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(env.master_port);
    store_options.isServer = env.rank == 0;
    store_options.numWorkers = static_cast<size_t>(env.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = timeout;
    backend_state->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
  } catch (const std::exception& e) {
    const std::string why = first_line(e.what());
    if (env.rank == 0) {
      throw UserError("rank 0 cannot hold the rendezvous at MASTER_ADDR:MASTER_PORT=" + address +
                      " (" + why + "): the port may be in use or not all " +
                      std::to_string(env.world_size) + " ranks joined within " +
                      seconds_text(options.timeout_s) +
                      "; choose another MASTER_PORT or check the other ranks");
    }
    throw UserError("rank " + std::to_string(env.rank) +
                    " cannot reach the master at MASTER_ADDR:MASTER_PORT=" + address + " within " +
                    seconds_text(options.timeout_s) + " (" + why +
                    "); check MASTER_ADDR and MASTER_PORT and that rank 0 is running");
  }
  auto store = c10::make_intrusive<c10d::PrefixStore>("sarseg", backend_state->store);
  try {
    if (backend == "gloo") {
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
      if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface && *interface) {
        gloo_options->devices.push_back(
            c10d::ProcessGroupGloo::createDeviceForInterface(interface));
      } else if (is_loopback(env.master_addr)) {
        gloo_options->devices.push_back(
            c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      backend_state->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
          store, env.rank, env.world_size, gloo_options);
    } else {
#if SARSEG_NCCL
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = timeout;
      backend_state->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          store, env.rank, env.world_size, nccl_options);
#endif
    }
  } catch (const std::exception& e) {
    throw UserError(context->describe() + ": not every rank joined the " + backend +
                    " process group at MASTER_ADDR:MASTER_PORT=" + address + " within " +
                    seconds_text(options.timeout_s) + " (" + first_line(e.what()) +
                    "); start all " + std::to_string(env.world_size) +
                    " ranks with the same MASTER_ADDR and MASTER_PORT");
  }
  context->impl_->backend = backend;
  context->impl_->group = std::make_unique<ProcessGroupHandle>(std::move(backend_state), env.rank,
                                                               env.world_size, options.timeout_s);
  return context;
}

}  // namespace sarseg::train
