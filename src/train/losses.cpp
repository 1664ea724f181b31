#include "sarseg/train/losses.h"

#include "cross_entropy_cpu.h"
#include "sarseg/io/scene.h"

namespace sarseg::train {

namespace F = torch::nn::functional;

torch::Tensor masked_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                   const torch::Tensor& class_weights) {
  if (detail::fused_cross_entropy_applies(logits, target, class_weights))
    return detail::fused_masked_cross_entropy(logits, target, class_weights, io::kLabelFill);
  auto options = F::CrossEntropyFuncOptions().ignore_index(io::kLabelFill).reduction(torch::kSum);
  if (class_weights.defined()) options.weight(class_weights);
  const torch::Tensor summed = F::cross_entropy(logits, target, options);
  // torch's mean divides by the summed weight of the counted pixels; an all-ignored batch gives
  // 0/0 there, here 0 so one empty crop cannot poison the run with NaN.
  const torch::Tensor valid = target != io::kLabelFill;
  torch::Tensor denominator;
  if (class_weights.defined()) {
    const torch::Tensor safe_target = torch::where(valid, target, torch::zeros_like(target));
    denominator = (class_weights.index({safe_target}) * valid.to(class_weights.dtype())).sum();
  } else {
    denominator = valid.sum().to(summed.dtype());
  }
  return summed / torch::clamp_min(denominator, 1e-12) * (denominator > 0).to(summed.dtype());
}

torch::Tensor masked_mse(const torch::Tensor& prediction, const torch::Tensor& target) {
  const torch::Tensor valid = target != io::kLabelFill;
  const torch::Tensor value = prediction.squeeze(1);
  const torch::Tensor error = (value - target.to(value.dtype())) * valid.to(value.dtype());
  const torch::Tensor count = valid.sum().to(value.dtype());
  return (error * error).sum() / torch::clamp_min(count, 1.0);
}

LossTerms multitask_loss(const std::vector<torch::Tensor>& outputs,
                         const std::vector<torch::Tensor>& targets,
                         const std::vector<data::TaskSpec>& tasks,
                         const std::vector<torch::Tensor>& class_weights) {
  LossTerms terms;
  for (size_t t = 0; t < tasks.size(); ++t) {
    const torch::Tensor loss =
        tasks[t].regression
            ? masked_mse(outputs[t], targets[t])
            : masked_cross_entropy(outputs[t], targets[t],
                                   t < class_weights.size() ? class_weights[t] : torch::Tensor());
    terms.per_task.push_back(loss.item<double>());
    const torch::Tensor weighted = loss * tasks[t].weight;
    terms.total = terms.total.defined() ? terms.total + weighted : weighted;
  }
  return terms;
}

}  // namespace sarseg::train
