#include "sarseg/bench/peak.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <sstream>

#include "sarseg/util/error.h"
#include "sarseg/util/torch_runtime.h"

namespace sarseg::bench {

PeakShape PeakShape::conv(int64_t batch, int64_t in_channels, int64_t out_channels, int64_t size,
                          int64_t kernel, bool channels_last) {
  PeakShape shape;
  shape.kind = "conv";
  shape.batch = batch;
  shape.in_channels = in_channels;
  shape.out_channels = out_channels;
  shape.height = shape.width = size;
  shape.kernel = kernel;
  shape.channels_last = channels_last;
  return shape;
}

PeakShape PeakShape::matmul(int64_t m, int64_t n, int64_t k) {
  PeakShape shape;
  shape.kind = "matmul";
  shape.m = m;
  shape.n = n;
  shape.k = k;
  return shape;
}

double PeakShape::flops() const {
  if (kind == "matmul") return 2.0 * static_cast<double>(m) * n * k;
  // Stride 1 with padding kernel/2: the output has the input's size.
  return 2.0 * static_cast<double>(batch) * out_channels * in_channels * kernel * kernel * height *
         width;
}

std::string PeakShape::name() const {
  std::ostringstream out;
  if (kind == "matmul") {
    out << "matmul " << m << "x" << n << "x" << k;
  } else {
    out << "conv" << kernel << "x" << kernel << " " << in_channels << "->" << out_channels << " "
        << height << "x" << width << " b" << batch << (channels_last ? " NHWC" : " NCHW");
  }
  return out.str();
}

std::vector<PeakShape> default_peak_shapes(const std::string& device) {
  if (device.rfind("cuda", 0) == 0) {
    return {PeakShape::matmul(8192, 8192, 8192), PeakShape::conv(64, 256, 256, 64, 3, true),
            PeakShape::conv(32, 128, 128, 128, 3, true),
            PeakShape::conv(64, 1024, 256, 64, 1, true)};
  }
  // About 5 to 20 GFLOP each: a fraction of a second per run on a few cores.
  return {PeakShape::conv(4, 256, 256, 64, 3), PeakShape::conv(4, 256, 256, 64, 3, true),
          PeakShape::conv(2, 128, 128, 128, 3), PeakShape::conv(8, 1024, 256, 32, 1),
          PeakShape::matmul(1024, 1024, 1024)};
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Restores torch's intra-op thread count when a measurement ends, even by an exception.
class ThreadCountScope {
 public:
  explicit ThreadCountScope(int threads) : saved_(torch::get_num_threads()) {
    if (threads > 0) torch::set_num_threads(threads);
  }
  ~ThreadCountScope() { torch::set_num_threads(saved_); }
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;

 private:
  int saved_;
};

torch::ScalarType scalar_type_of(const std::string& dtype) {
  if (dtype == "fp32") return torch::kFloat;
  if (dtype == "bf16") return torch::kBFloat16;
  throw UserError("dtype '" + dtype + "' is not known; use fp32 or bf16");
}

}  // namespace

PeakMeasurement measure_peak(const PeakShape& shape, const PeakOptions& options) {
  require(shape.kind == "conv" || shape.kind == "matmul",
          "peak shape kind '" + shape.kind + "' is not known; use conv or matmul");
  require(options.seconds > 0, "the time budget per shape must be positive");
  const torch::Device device(options.device);
  const bool on_cuda = device.is_cuda();
  const auto tensor_options =
      torch::TensorOptions().dtype(scalar_type_of(options.dtype)).device(device);
  ThreadCountScope threads(on_cuda ? 0 : options.threads);
  torch::InferenceMode inference;
  // Random operands: zeros can run faster than real data on some units.
  torch::manual_seed(0);

  std::function<torch::Tensor()> run;
  torch::Tensor a, b;
  if (shape.kind == "matmul") {
    a = torch::randn({shape.m, shape.k}, tensor_options);
    b = torch::randn({shape.k, shape.n}, tensor_options);
    run = [&] { return torch::mm(a, b); };
  } else {
    const auto format =
        shape.channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    a = torch::randn({shape.batch, shape.in_channels, shape.height, shape.width}, tensor_options)
            .contiguous(format);
    b = (torch::randn({shape.out_channels, shape.in_channels, shape.kernel, shape.kernel},
                      tensor_options) *
         0.05)
            .contiguous(format);
    const int64_t padding = shape.kernel / 2;
    run = [&a, &b, padding] { return torch::conv2d(a, b, {}, 1, padding); };
  }
  auto synchronize = [&] {
    if (on_cuda) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
  };

  synchronize();
  auto start = Clock::now();
  run();
  synchronize();
  const double warm_up_seconds = seconds_since(start);
  const int minimum_repeats = warm_up_seconds > options.seconds ? 1 : 2;

  std::vector<double> times;
  const auto budget_start = Clock::now();
  while (static_cast<int>(times.size()) < minimum_repeats ||
         (seconds_since(budget_start) < options.seconds &&
          static_cast<int>(times.size()) < options.max_repeats)) {
    start = Clock::now();
    run();
    synchronize();
    times.push_back(seconds_since(start));
  }
  std::sort(times.begin(), times.end());

  PeakMeasurement measurement;
  measurement.shape = shape;
  measurement.device = options.device;
  measurement.dtype = options.dtype;
  measurement.threads = on_cuda ? 0 : torch::get_num_threads();
  measurement.repeats = static_cast<int>(times.size());
  measurement.best_seconds = times.front();
  const size_t mid = times.size() / 2;
  measurement.median_seconds = times.size() % 2 ? times[mid] : 0.5 * (times[mid - 1] + times[mid]);
  return measurement;
}

bool cpu_flags_have_bf16(const std::string& flags_line) {
  return cpu_bf16_units_from_cpuinfo(flags_line) != CpuBf16::kNone;
}

bool cpu_has_bf16(std::string* reason) {
  const bool has = cpu_has_native_bf16();
  if (reason)
    *reason = has ? "the CPU reports avx512_bf16 or amx_bf16"
                  : "the CPU reports neither avx512_bf16 nor amx_bf16, so LibTorch would "
                    "run bf16 on a slow generic path";
  return has;
}

}  // namespace sarseg::bench
