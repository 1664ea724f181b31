// The optimisers of optim.name, built from the optim section.
#include "sarseg/train/optimizers.h"

#include "sarseg/util/error.h"
#include "sarseg/util/find.h"
#include "sarseg/util/strings.h"

namespace sarseg::train {

const std::vector<OptimizerInfo>& optimizer_registry() {
  static const std::vector<OptimizerInfo> registry = {
      {"adam", "Adam (optim.lr, beta1, beta2, weight_decay as L2 penalty)",
       [](const OptimSection& o, std::vector<torch::Tensor> parameters) {
         return std::unique_ptr<torch::optim::Optimizer>(std::make_unique<torch::optim::Adam>(
             std::move(parameters), torch::optim::AdamOptions(o.lr)
                                        .betas({o.beta1, o.beta2})
                                        .weight_decay(o.weight_decay)));
       }},
      {"adamw", "AdamW (decoupled weight_decay)",
       [](const OptimSection& o, std::vector<torch::Tensor> parameters) {
         return std::unique_ptr<torch::optim::Optimizer>(std::make_unique<torch::optim::AdamW>(
             std::move(parameters), torch::optim::AdamWOptions(o.lr)
                                        .betas({o.beta1, o.beta2})
                                        .weight_decay(o.weight_decay)));
       }},
      {"sgd", "SGD with optim.momentum (Nesterov when optim.nesterov)",
       [](const OptimSection& o, std::vector<torch::Tensor> parameters) {
         return std::unique_ptr<torch::optim::Optimizer>(std::make_unique<torch::optim::SGD>(
             std::move(parameters), torch::optim::SGDOptions(o.lr)
                                        .momentum(o.momentum)
                                        .weight_decay(o.weight_decay)
                                        .nesterov(o.nesterov)));
       }},
  };
  return registry;
}

std::vector<std::string> optimizer_names() {
  return registered_names(optimizer_registry());
}

const OptimizerInfo& find_optimizer(const std::string& name) {
  return find_registered(optimizer_registry(), name, "optimiser", "optim.name");
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimSection& optim,
                                                        std::vector<torch::Tensor> parameters) {
  return find_optimizer(optim.name).build(optim, std::move(parameters));
}

}  // namespace sarseg::train
