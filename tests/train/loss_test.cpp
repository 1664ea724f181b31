#include <gtest/gtest.h>

#include "sarseg/train/losses.h"

using namespace sarseg;
namespace F = torch::nn::functional;

TEST(Loss, CrossEntropyIgnoresFillPixels) {
  torch::manual_seed(0);
  const auto logits = torch::randn({2, 4, 3, 3});
  auto target = torch::randint(0, 4, {2, 3, 3}, torch::kInt64);
  target[0][0][0] = 255;
  target[1][2][1] = 255;
  const auto loss = train::masked_cross_entropy(logits, target);
  // By hand: mean of -log softmax at the target over the 16 labelled pixels.
  const auto log_p = torch::log_softmax(logits, 1);
  double sum = 0;
  int count = 0;
  for (int n = 0; n < 2; ++n)
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) {
        const int64_t t = target[n][r][c].item<int64_t>();
        if (t == 255) continue;
        sum -= log_p[n][t][r][c].item<double>();
        ++count;
      }
  EXPECT_EQ(count, 16);
  EXPECT_NEAR(loss.item<double>(), sum / count, 1e-5);
}

TEST(Loss, ClassWeightsMatchTorchWeightedMean) {
  torch::manual_seed(1);
  const auto logits = torch::randn({2, 3, 4, 4});
  auto target = torch::randint(0, 3, {2, 4, 4}, torch::kInt64);
  target[0][1][1] = 255;
  const auto weights = torch::tensor({0.5, 2.0, 1.0});
  const auto expected = F::cross_entropy(
      logits, target, F::CrossEntropyFuncOptions().weight(weights).ignore_index(255));
  EXPECT_NEAR(train::masked_cross_entropy(logits, target, weights).item<double>(),
              expected.item<double>(), 1e-5);
}

TEST(Loss, AllIgnoredGivesZeroNotNaN) {
  const auto logits = torch::randn({1, 3, 2, 2}, torch::requires_grad());
  const auto target = torch::full({1, 2, 2}, 255, torch::kInt64);
  const auto loss = train::masked_cross_entropy(logits, target);
  EXPECT_EQ(loss.item<double>(), 0.0);
  loss.backward();
  EXPECT_TRUE(torch::isfinite(logits.grad()).all().item<bool>());
  EXPECT_EQ(train::masked_mse(torch::randn({1, 1, 2, 2}), target).item<double>(), 0.0);
}

TEST(Loss, MaskedMseAndTaskWeights) {
  const auto prediction = torch::tensor({1.0f, 2.0f, 5.0f, 0.0f}).view({1, 1, 2, 2});
  const auto target = torch::tensor({1, 4, 255, 3}, torch::kInt64).view({1, 2, 2});
  // Errors 0, -2, (ignored), -3: mean of squares (0 + 4 + 9) / 3.
  EXPECT_NEAR(train::masked_mse(prediction, target).item<double>(), 13.0 / 3.0, 1e-6);

  const auto logits = torch::zeros({1, 2, 2, 2});  // uniform: CE = log 2 everywhere
  const auto labels = torch::tensor({0, 1, 1, 255}, torch::kInt64).view({1, 2, 2});
  const std::vector<data::TaskSpec> tasks = {{"SIC", 11, true, 2.0}, {"SOD", 2, false, 3.0}};
  const auto terms = train::multitask_loss({prediction, logits}, {target, labels}, tasks, {});
  ASSERT_EQ(terms.per_task.size(), 2u);
  EXPECT_NEAR(terms.per_task[0], 13.0 / 3.0, 1e-6);
  EXPECT_NEAR(terms.per_task[1], std::log(2.0), 1e-6);
  EXPECT_NEAR(terms.total.item<double>(), 2.0 * 13.0 / 3.0 + 3.0 * std::log(2.0), 1e-5);
}

// The CPU's fused loss against torch's log-softmax + NLL, forward and gradient, with ignored
// pixels, class weights and logits large enough that exp underflows for most classes.
TEST(Loss, FusedCrossEntropyMatchesTorchsLossAndGradient) {
  torch::manual_seed(2);
  for (const double spread : {1.0, 40.0}) {
    const auto logits =
        (torch::randn({3, 6, 17, 19}) * spread).set_requires_grad(true);  // 323 px: blocks + tail
    auto target = torch::randint(0, 6, {3, 17, 19}, torch::kInt64);
    target.index_put_({torch::rand({3, 17, 19}) < 0.2}, 255);
    const auto weights = torch::tensor({0.5f, 2.0f, 1.0f, 0.25f, 3.0f, 1.5f});
    for (const bool weighted : {false, true}) {
      const auto w = weighted ? weights : torch::Tensor();
      const auto loss = train::masked_cross_entropy(logits, target, w);
      ASSERT_NE(loss.grad_fn(), nullptr);
      EXPECT_NE(loss.grad_fn()->name().find("FusedCrossEntropy"), std::string::npos);
      const auto grad = torch::autograd::grad({loss * 3.0}, {logits})[0];

      const auto reference_logits = logits.detach().clone().set_requires_grad(true);
      auto options = F::CrossEntropyFuncOptions().ignore_index(255);
      if (weighted) options.weight(w);
      const auto expected = F::cross_entropy(reference_logits, target, options);
      const auto expected_grad = torch::autograd::grad({expected * 3.0}, {reference_logits})[0];
      EXPECT_NEAR(loss.item<double>(), expected.item<double>(), 2e-6 * spread);
      // Relative to the largest gradient. With logits of spread 1 the polynomial exponential's
      // few ulp show (1.2e-7 measured here; an error of 3 % in one of its coefficients gives
      // 1.3e-6; the bound leaves room for other CPUs' rounding); with spread 40 the log-sum-exp's
      // rounding dominates (3.7e-6).
      EXPECT_LT(((grad - expected_grad).abs().max() / expected_grad.abs().max()).item<double>(),
                spread == 1.0 ? 6e-7 : 1e-5);
      EXPECT_EQ(grad.index({target.unsqueeze(1).expand_as(grad) == 255}).abs().max().item<float>(),
                0.f);
    }
  }
}

TEST(Loss, FusedCrossEntropyRejectsATargetOutOfRange) {
  const auto logits = torch::randn({1, 3, 2, 2});
  const auto target = torch::tensor({0, 1, 3, 255}, torch::kInt64).view({1, 2, 2});
  EXPECT_THROW(train::masked_cross_entropy(logits, target), c10::Error);
}
