// The optimiser registry: names, the optim section reaching the optimiser, unknown names.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "sarseg/train/optimizers.h"
#include "sarseg/util/error.h"

using namespace sarseg;

TEST(OptimizerRegistry, NamesAndUnknownNameListsThem) {
  EXPECT_EQ(train::optimizer_names(), (std::vector<std::string>{"adam", "adamw", "sgd"}));
  for (const auto& info : train::optimizer_registry()) {
    EXPECT_FALSE(info.description.empty()) << info.name;
    EXPECT_EQ(&train::find_optimizer(info.name), &info);
  }
  train::OptimSection optim;
  optim.name = "rmsprop";
  try {
    train::make_optimizer(optim, {torch::zeros({2}, torch::requires_grad())});
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'rmsprop'"), std::string::npos) << message;
    EXPECT_NE(message.find("use one of adam, adamw, sgd"), std::string::npos) << message;
  }
}

TEST(OptimizerRegistry, BuildsTheNamedOptimiserWithTheSectionsSettings) {
  train::OptimSection optim;
  optim.lr = 0.25;
  optim.weight_decay = 0.125;
  optim.beta1 = 0.8;
  optim.beta2 = 0.99;
  optim.momentum = 0.7;
  optim.nesterov = true;
  auto parameters = std::vector<torch::Tensor>{torch::zeros({3}, torch::requires_grad())};

  optim.name = "adam";
  auto adam = train::make_optimizer(optim, parameters);
  ASSERT_NE(dynamic_cast<torch::optim::Adam*>(adam.get()), nullptr);
  const auto& adam_options =
      static_cast<const torch::optim::AdamOptions&>(adam->param_groups().front().options());
  EXPECT_DOUBLE_EQ(adam_options.lr(), 0.25);
  EXPECT_DOUBLE_EQ(adam_options.weight_decay(), 0.125);
  EXPECT_DOUBLE_EQ(std::get<0>(adam_options.betas()), 0.8);
  EXPECT_DOUBLE_EQ(std::get<1>(adam_options.betas()), 0.99);

  optim.name = "adamw";
  auto adamw = train::make_optimizer(optim, parameters);
  ASSERT_NE(dynamic_cast<torch::optim::AdamW*>(adamw.get()), nullptr);
  const auto& adamw_options =
      static_cast<const torch::optim::AdamWOptions&>(adamw->param_groups().front().options());
  EXPECT_DOUBLE_EQ(adamw_options.weight_decay(), 0.125);

  optim.name = "sgd";
  auto sgd = train::make_optimizer(optim, parameters);
  ASSERT_NE(dynamic_cast<torch::optim::SGD*>(sgd.get()), nullptr);
  const auto& sgd_options =
      static_cast<const torch::optim::SGDOptions&>(sgd->param_groups().front().options());
  EXPECT_DOUBLE_EQ(sgd_options.lr(), 0.25);
  EXPECT_DOUBLE_EQ(sgd_options.momentum(), 0.7);
  EXPECT_TRUE(sgd_options.nesterov());
}
