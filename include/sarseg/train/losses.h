// Training losses: cross-entropy with the 255 ignore value and optional class weights, masked
// MSE for SIC regression, and their weighted sum over model heads.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "sarseg/data/task.h"

namespace sarseg::train {

// Mean cross-entropy over pixels whose target is not 255 (weighted mean with class weights, as
// torch's CrossEntropyLoss(weight, ignore_index=255)); 0 (not NaN) when every pixel is ignored.
// logits [N, C, H, W], target [N, H, W] int64.
torch::Tensor masked_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                   const torch::Tensor& class_weights = {});
// Mean squared error of prediction [N, 1, H, W] against the class index in target [N, H, W]
// (int64) over pixels whose target is not 255; 0 when every pixel is ignored.
torch::Tensor masked_mse(const torch::Tensor& prediction, const torch::Tensor& target);

struct LossTerms {
  torch::Tensor total;           // sum of task weight * task loss (differentiable)
  std::vector<double> per_task;  // each task's unweighted loss value
};

// One output and one target per task. class_weights[t] may be undefined (none).
LossTerms multitask_loss(const std::vector<torch::Tensor>& outputs,
                         const std::vector<torch::Tensor>& targets,
                         const std::vector<data::TaskSpec>& tasks,
                         const std::vector<torch::Tensor>& class_weights);

}  // namespace sarseg::train
