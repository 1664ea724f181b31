// Data-parallel training over several processes with torch's own c10d engine: a c10d::TCPStore
// rendezvous, then ProcessGroupGloo on CPU (ProcessGroupNCCL on CUDA in a CUDA LibTorch 2.x
// build).
//
//   const DistributedEnv env = distributed_env_from_process();  // torchrun or SLURM variables
//   auto context = DistributedContext::connect(env, {}, "cpu");  // one process when unset
//   run_training(config, callbacks, &scenes, context.get());
//
// Each rank trains on a disjoint share of every batch (train.batch_size samples per rank); the
// gradients are summed over the ranks in flattened buckets and divided by the world size (Gloo
// has no AVG), so W ranks with batch B/W take the same steps as one process with batch B. Only
// rank 0 writes the run directory. This header is torch-free; the tensor side is private to the
// train module.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace sarseg::train {

// Where this process sits in a job, as the launcher (torchrun, srun, sarseg launch) said.
struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string source = "none";  // torchrun, slurm or none (one process)
  bool distributed() const { return world_size > 1; }
};

// The value of an environment variable, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// torchrun's RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (default 29500); else
// SLURM's SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID with the master on the first host of
// SLURM_JOB_NODELIST (or SLURM_NODELIST, or MASTER_ADDR when set); nothing set: one process.
// UserError naming the variable when a value is not a number or out of range.
DistributedEnv parse_distributed_env(const EnvLookup& lookup);
DistributedEnv distributed_env_from_process();

// The first host of a SLURM node list: "gpu[03-05,09],cpu1" -> "gpu03".
std::string first_slurm_host(const std::string& nodelist);

struct DistributedOptions {
  double timeout_s = 300;        // rendezvous, and any collective waiting on a peer
  std::string backend = "auto";  // auto (nccl on CUDA, gloo on CPU), gloo or nccl
};

// A peer process failed or went silent past the timeout: training stops (exit 1 through main).
class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ProcessGroupHandle;  // the c10d process group (torch side, private to the train module)

class DistributedContext {
 public:
  // One process: no process group, every collective is a no-op.
  DistributedContext();
  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  // Joins the job of `env` (world size 1: one process, nothing is opened). UserError naming
  // MASTER_ADDR:MASTER_PORT when the port is taken (rank 0) or the master cannot be reached
  // within options.timeout_s; `device` ("cpu", "cuda:N") picks the backend.
  static std::unique_ptr<DistributedContext> connect(const DistributedEnv& env,
                                                     const DistributedOptions& options,
                                                     const std::string& device);

  int rank() const;
  int world_size() const;
  int local_rank() const;
  bool is_main() const { return rank() == 0; }
  bool active() const { return world_size() > 1; }
  double timeout_s() const;
  std::string backend() const;  // "gloo", "nccl" or "none"
  // "rank 1 of 4" (for messages).
  std::string describe() const;
  // Null when not active.
  ProcessGroupHandle* group() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sarseg::train
