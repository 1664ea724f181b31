// Forward and backward for every encoder x decoder with 1, 2, 3 and 5 bands, non-square input.
// Built twice: the unit executable runs the light encoders (resnet18, mobilenet_v2), the slow one
// (SARSEG_HEAVY_ENCODERS) runs resnet34 and resnet50.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <tuple>

#include "sarseg/models/encoders.h"
#include "sarseg/models/model.h"

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
