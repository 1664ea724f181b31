// Optimiser registry: one OptimizerInfo per optimiser (src/train/optimizers.cpp); the choices of
// optim.name and its help come from here.
//
//   auto optimizer = make_optimizer(config.optim, model->parameters());
//
// A new optimiser is one entry in optimizer_registry() building it from the optim section.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sarseg/train/config.h"

namespace sarseg::train {

struct OptimizerInfo {
  std::string name;
  std::string description;  // one line for help texts
  std::function<std::unique_ptr<torch::optim::Optimizer>(const OptimSection& optim,
                                                         std::vector<torch::Tensor> parameters)>
      build;
};

const std::vector<OptimizerInfo>& optimizer_registry();
std::vector<std::string> optimizer_names();  // registry order: "adam", "adamw", "sgd"
// UserError listing the valid names when unknown.
const OptimizerInfo& find_optimizer(const std::string& name);
// find_optimizer(optim.name).build(optim, parameters).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimSection& optim,
                                                        std::vector<torch::Tensor> parameters);

}  // namespace sarseg::train
