// The masked cross-entropy of losses.h, fused for fp32 logits on the CPU.
#pragma once

#include <torch/torch.h>

namespace sarseg::train::detail {

// Whether fused_masked_cross_entropy takes these arguments: CPU fp32 logits [N, C, H, W], int64
// target [N, H, W], fp32 class weights [C] or none.
bool fused_cross_entropy_applies(const torch::Tensor& logits, const torch::Tensor& target,
                                 const torch::Tensor& class_weights);

// Equals masked_cross_entropy (the weighted mean of -log softmax at the target over the pixels
// whose target is not `ignore`, 0 when none is counted), in one pass over the logits forward and
// one backward, where LibTorch 1.13 takes log-softmax, NLL and their backwards (six passes, and a
// zero-filled gradient). A target outside [0, C) and not `ignore` throws, as torch does.
torch::Tensor fused_masked_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                         const torch::Tensor& class_weights, int64_t ignore);

}  // namespace sarseg::train::detail
