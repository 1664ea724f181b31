// The tensor side of train/distributed.h (private to the train module): collectives through the
// c10d process group, and the gradient all-reduce in flattened buckets.
//
// c10d's Reducer (what torch's DistributedDataParallel uses) is not usable from C++ in Debian's
// LibTorch 1.13, so gradients are flattened into buckets here and all-reduced through the process
// group: sum, then divide by the world size (Gloo has no ReduceOp::AVG).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sarseg/train/distributed.h"

namespace sarseg::train {

class ProcessGroupHandle {
 public:
  class Backend;  // the c10d process group (ProcessGroup in 1.13, Backend in 2.x)
  ProcessGroupHandle(std::shared_ptr<Backend> backend, int rank, int world_size, double timeout_s);
  ~ProcessGroupHandle();

  // In-place sums over the ranks; every tensor must be contiguous and on the group's device.
  // `what` names the step in the DistributedError thrown when a peer fails or times out.
  void all_reduce_sum(std::vector<torch::Tensor>& tensors, const std::string& what);
  // In-place copies from `root`.
  void broadcast(std::vector<torch::Tensor>& tensors, int root, const std::string& what);
  void barrier(const std::string& what);

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  // Seconds spent inside collectives so far (benchmark: share of step time).
  double collective_seconds() const { return collective_seconds_; }

 private:
  std::shared_ptr<Backend> backend_;
  int rank_, world_size_;
  double timeout_s_;
  double collective_seconds_ = 0;
};

// Sums a true/false over the ranks: true when any rank says true (e.g. "my input is unusable").
bool any_rank(ProcessGroupHandle* group, bool mine, const std::string& what);

// Gradients of `parameters` flattened into buckets of about `bucket_bytes`, summed over the ranks
// and divided by the world size; parameters without a gradient count as zeros. `extra` (e.g. the
// step's loss sum and sample count, float64 on the CPU) is summed alongside.
class GradientAllReducer {
 public:
  GradientAllReducer(std::vector<torch::Tensor> parameters, ProcessGroupHandle& group,
                     int64_t bucket_bytes = 25 << 20);
  // `scale` multiplies this rank's gradients before the sum (1 when every rank has its even share
  // of the batch; n_rank * world / n_batch for an uneven last batch).
  void all_reduce(torch::Tensor& extra, double scale = 1.0);

 private:
  std::vector<torch::Tensor> parameters_;
  ProcessGroupHandle& group_;
  std::vector<std::vector<size_t>> buckets_;  // parameter indices
  std::vector<torch::Tensor> buffers_;        // one flat buffer per bucket
};

// Parameters and buffers of `module` copied from rank 0.
void broadcast_module_state(torch::nn::Module& module, ProcessGroupHandle& group);
// Floating-point buffers of `module` (BatchNorm running mean and variance) averaged over the
// ranks, so every rank validates and saves the same model.
void average_module_buffers(torch::nn::Module& module, ProcessGroupHandle& group);

}  // namespace sarseg::train
