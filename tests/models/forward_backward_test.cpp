// Forward and backward for every encoder x decoder with 1, 2, 3 and 5 bands, non-square input.
// Built twice: the unit executable runs the light encoders (resnet18, mobilenet_v2), the slow one
// (SARSEG_HEAVY_ENCODERS) runs resnet34 and resnet50.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <tuple>

#include "sarseg/models/encoders.h"
#include "sarseg/models/model.h"
#include "sarseg/util/torch_compat.h"

namespace sarseg::models {
namespace {

using Case = std::tuple<std::string, std::string>;

class ForwardBackward : public ::testing::TestWithParam<Case> {};

TEST_P(ForwardBackward, EveryBandCountRunsAndGivesGradients) {
  const auto& [encoder, decoder] = GetParam();
  for (int64_t bands : {1, 2, 3, 5}) {
    ModelSpec spec;
    spec.encoder = encoder;
    spec.decoder = decoder;
    spec.in_channels = bands;
    spec.heads = {HeadSpec{"classes", 6, false}, HeadSpec{"sic", 1, true}};
    auto model = build_model(spec);
    model->train();
    // The smallest non-square size the model takes keeps resnet50 cheap.
    const int64_t height = model->size_multiple();
    const int64_t width = 2 * model->size_multiple();
    const auto input = torch::randn({2, bands, height, width});
    const auto outputs = model->forward_heads(input);
    ASSERT_EQ(outputs.size(), 2u);
    EXPECT_EQ(outputs[0].sizes(), (std::vector<int64_t>{2, 6, height, width}));
    EXPECT_EQ(outputs[1].sizes(), (std::vector<int64_t>{2, 1, height, width}));
    const auto target = torch::randint(0, 6, {2, height, width}, torch::kLong);
    const auto loss =
        torch::nn::functional::cross_entropy(outputs[0], target) + outputs[1].square().mean();
    loss.backward();
    EXPECT_TRUE(std::isfinite(loss.item<double>()));
    int64_t with_grad = 0, total = 0;
    for (const auto& p : model->parameters()) {
      ++total;
      if (p.grad().defined() && p.grad().abs().sum().item<double>() > 0) ++with_grad;
    }
    EXPECT_EQ(with_grad, total) << encoder << "+" << decoder << " bands " << bands;
    model->eval();
    torch::NoGradGuard no_grad;
    const auto other = torch::randn({1, bands, 2 * height, height});  // taller than wide
    EXPECT_EQ(model->forward(other).sizes(), (std::vector<int64_t>{1, 6, 2 * height, height}));
  }
}

// A training step under bf16 autocast on the CPU (what precision auto runs on CPUs with bf16
// units) runs for every model: the loss is the fp32 loss up to bf16 rounding and every parameter
// gets an fp32 gradient. LibTorch 1.13 has no bf16 CPU kernel for the backward of torch's ReLU6
// (MobileNetV2), so this step failed there before models::Relu6.
TEST_P(ForwardBackward, Bf16AutocastStepRunsAndGivesEveryParameterAGradient) {
  const auto& [encoder, decoder] = GetParam();
  ModelSpec spec;
  spec.encoder = encoder;
  spec.decoder = decoder;
  spec.in_channels = 3;
  spec.heads = {HeadSpec{"classes", 6, false}};
  torch::manual_seed(11);
  auto model = build_model(spec);
  model->train();
  const int64_t side = 2 * model->size_multiple();
  const auto input = torch::randn({2, 3, side, side});
  const auto target = torch::randint(0, 6, {2, side, side}, torch::kLong);
  const auto step = [&](bool bf16) {
    model->zero_grad();
    torch::manual_seed(5);  // the same dropout masks in both steps
    compat::AutocastGuard autocast(bf16, torch::kCPU);
    const auto logits = model->forward_heads(input)[0];
    const auto loss = torch::nn::functional::cross_entropy(logits.to(torch::kFloat), target);
    loss.backward();
    return loss.item<double>();
  };
  const double fp32_loss = step(false);
  const double bf16_loss = step(true);
  EXPECT_NEAR(bf16_loss, fp32_loss, 0.05 * fp32_loss) << encoder << "+" << decoder;
  EXPECT_NE(bf16_loss, fp32_loss);  // autocast really ran
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    const torch::Tensor& p = item.value();
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_EQ(p.grad().scalar_type(), torch::kFloat) << name;
    EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>()) << name;
    EXPECT_GT(p.grad().abs().sum().item<double>(), 0) << name;
  }
}

std::vector<Case> cases() {
  std::vector<Case> all;
#ifdef SARSEG_HEAVY_ENCODERS
  const std::vector<std::string> encoders = {"resnet34", "resnet50"};
#else
  const std::vector<std::string> encoders = {"resnet18", "mobilenet_v2", "plain_unet"};
#endif
  for (const auto& encoder : encoders)
    for (const auto& decoder : decoder_names())
      all.emplace_back(encoder, decoder);
  return all;
}

INSTANTIATE_TEST_SUITE_P(AllModels, ForwardBackward, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param);
                         });

}  // namespace
}  // namespace sarseg::models
