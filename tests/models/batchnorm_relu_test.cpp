#include <gtest/gtest.h>
#include <torch/torch.h>

#include "sarseg/models/layers.h"

namespace sarseg::models {
namespace {

namespace nn = torch::nn;

double relative_error(const torch::Tensor& value, const torch::Tensor& reference) {
  const auto r = reference.to(torch::kFloat);
  return ((value.to(torch::kFloat) - r).abs().max() / r.abs().max().clamp_min(1e-12))
      .item<double>();
}

// Two BatchNorm2d with the same random affine parameters and running statistics.
std::pair<nn::BatchNorm2d, nn::BatchNorm2d> twin_batchnorms(int64_t channels,
                                                            c10::optional<double> momentum) {
  nn::BatchNorm2d a(nn::BatchNorm2dOptions(channels).momentum(momentum));
  nn::BatchNorm2d b(nn::BatchNorm2dOptions(channels).momentum(momentum));
  torch::NoGradGuard no_grad;
  a->weight.copy_(torch::rand({channels}) + 0.5);
  a->bias.copy_(torch::randn({channels}));
  a->running_mean.copy_(torch::randn({channels}));
  a->running_var.copy_(torch::rand({channels}) + 0.5);
  for (const auto& name : {"weight", "bias"})
    b->named_parameters()[name].copy_(a->named_parameters()[name]);
  for (const auto& name : {"running_mean", "running_var", "num_batches_tracked"})
    b->named_buffers()[name].copy_(a->named_buffers()[name]);
  return {a, b};
}

// The fused bf16 BatchNorm + ReLU against torch's BatchNorm and ReLU in fp32 on the same
// (bf16-rounded) values: output, running statistics over two steps, and the gradients of the
// input, the scale and the shift, within bf16 rounding. The map's mean is far from zero, where a
// one-pass variance in fp32 would cancel. Without `relu`, the same for the fused BatchNorm alone.
void expect_fused_matches_fp32(c10::optional<double> momentum,
                               std::vector<int64_t> shape = {4, 32, 9, 7}, bool relu = true) {
  torch::manual_seed(5);
  auto [fused, reference] = twin_batchnorms(shape[1], momentum);
  for (int step = 0; step < 2; ++step) {
    const auto values = (torch::randn(shape) * 2 + 40).to(torch::kBFloat16);
    auto x = values.contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_();
    auto x_ref = values.to(torch::kFloat).requires_grad_();
    const auto upstream = torch::randn(shape).to(torch::kBFloat16);

    auto y = relu ? batchnorm_relu(*fused, x) : batchnorm(*fused, x);
    ASSERT_TRUE(y.grad_fn());
    EXPECT_NE(y.grad_fn()->name().find("BatchNormReluFunction"), std::string::npos);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));
    auto y_ref = reference->forward(x_ref);
    if (relu) y_ref = y_ref.relu();
    EXPECT_LT(relative_error(y, y_ref), 1e-2);

    fused->weight.mutable_grad() = torch::Tensor();
    fused->bias.mutable_grad() = torch::Tensor();
    reference->weight.mutable_grad() = torch::Tensor();
    reference->bias.mutable_grad() = torch::Tensor();
    y.backward(upstream);
    y_ref.backward(upstream.to(torch::kFloat));
    EXPECT_LT(relative_error(x.grad(), x_ref.grad()), 2e-2);
    EXPECT_LT(relative_error(fused->weight.grad(), reference->weight.grad()), 1e-2);
    EXPECT_LT(relative_error(fused->bias.grad(), reference->bias.grad()), 1e-3);
    EXPECT_LT(relative_error(fused->running_mean, reference->running_mean), 1e-5);
    EXPECT_LT(relative_error(fused->running_var, reference->running_var), 1e-4);
    EXPECT_EQ(fused->num_batches_tracked.item<int64_t>(),
              reference->num_batches_tracked.item<int64_t>());
  }
}

TEST(BatchNormRelu, FusedBf16MatchesTorchInFp32WithMomentum) {
  expect_fused_matches_fp32(0.1);
}

// Many chunks of rows, summed in parallel, and a channel count that is no multiple of a vector.
TEST(BatchNormRelu, FusedBf16MatchesTorchInFp32OnALargerMap) {
  expect_fused_matches_fp32(0.1, {8, 24, 40, 33});
}

TEST(BatchNormRelu, FusedBf16MatchesTorchInFp32WithCumulativeAverage) {
  expect_fused_matches_fp32(c10::nullopt);
}

TEST(BatchNormRelu, FusedBf16BatchNormAloneMatchesTorchInFp32) {
  expect_fused_matches_fp32(0.1, {8, 24, 40, 33}, false);
}

// The end of a ResNet block, relu(bn(x) + residual), fused against torch in fp32 on the same
// values: output and the gradients of x, the residual, the scale and the shift. About half the
// sums are negative, so the ReLU's mask matters for both gradients.
TEST(BatchNormRelu, FusedResidualEndMatchesTorchInFp32) {
  torch::manual_seed(8);
  const std::vector<int64_t> shape{4, 24, 11, 9};
  auto [fused, reference] = twin_batchnorms(shape[1], 0.1);
  const auto values = (torch::randn(shape) * 2 + 40).to(torch::kBFloat16);
  const auto skip_values = torch::randn(shape).to(torch::kBFloat16);
  auto x = values.contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_();
  auto skip = skip_values.contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_();
  auto x_ref = values.to(torch::kFloat).requires_grad_();
  auto skip_ref = skip_values.to(torch::kFloat).requires_grad_();
  const auto upstream = torch::randn(shape).to(torch::kBFloat16);

  auto y = batchnorm_add_relu(*fused, x, skip);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_NE(y.grad_fn()->name().find("BatchNormReluFunction"), std::string::npos);
  EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));
  auto y_ref = (reference->forward(x_ref) + skip_ref).relu();
  const double zeros = (y_ref == 0).to(torch::kFloat).mean().item<double>();
  EXPECT_GT(zeros, 0.2);
  EXPECT_LT(zeros, 0.8);
  EXPECT_LT(relative_error(y, y_ref), 1e-2);
  y.backward(upstream);
  y_ref.backward(upstream.to(torch::kFloat));
  EXPECT_LT(relative_error(x.grad(), x_ref.grad()), 2e-2);
  EXPECT_LT(relative_error(skip.grad(), skip_ref.grad()), 1e-2);
  EXPECT_LT(relative_error(fused->weight.grad(), reference->weight.grad()), 1e-2);
  EXPECT_LT(relative_error(fused->bias.grad(), reference->bias.grad()), 1e-2);
  EXPECT_LT(relative_error(fused->running_mean, reference->running_mean), 1e-5);

  // A residual in another layout: torch's BatchNorm, sum and ReLU.
  auto x2 = values.contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_();
  const auto nchw_skip = skip_values.contiguous();
  const auto y2 = batchnorm_add_relu(*fused, x2, nchw_skip);
  EXPECT_EQ(y2.grad_fn()->name().find("BatchNormReluFunction"), std::string::npos);
}

// MobileNetV2's BatchNorm + ReLU6 fused against torch in fp32 on the same values, with both
// clamps active (scale 4). The reference masks its gradient where the bf16-rounded output is 0 or
// 6, as Relu6 does in bf16 (5.99 rounds to 6).
TEST(BatchNormRelu, FusedRelu6MatchesTorchInFp32WithBothClampsActive) {
  torch::manual_seed(9);
  const std::vector<int64_t> shape{4, 24, 11, 9};
  auto [fused, reference] = twin_batchnorms(shape[1], 0.1);
  {
    torch::NoGradGuard no_grad;
    fused->weight.fill_(4.0);
    reference->weight.fill_(4.0);
  }
  const auto values = (torch::randn(shape) * 2 + 40).to(torch::kBFloat16);
  auto x = values.contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_();
  auto x_ref = values.to(torch::kFloat).requires_grad_();
  const auto upstream = torch::randn(shape).to(torch::kBFloat16);

  auto y = batchnorm_relu6(*fused, x);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_NE(y.grad_fn()->name().find("BatchNormReluFunction"), std::string::npos);
  const auto normalised = reference->forward(x_ref);
  const auto y_ref = normalised.clamp(0, 6);
  const auto rounded = y_ref.detach().to(torch::kBFloat16).to(torch::kFloat);
  const auto passed = (rounded > 0).logical_and(rounded < 6);
  EXPECT_GT((rounded == 6).to(torch::kFloat).mean().item<double>(), 0.05);
  EXPECT_GT((rounded == 0).to(torch::kFloat).mean().item<double>(), 0.05);
  EXPECT_LT(relative_error(y, y_ref), 1e-2);
  y.backward(upstream);
  normalised.backward(upstream.to(torch::kFloat) * passed);
  EXPECT_LT(relative_error(x.grad(), x_ref.grad()), 2e-2);
  EXPECT_LT(relative_error(fused->weight.grad(), reference->weight.grad()), 1e-2);
  EXPECT_LT(relative_error(fused->bias.grad(), reference->bias.grad()), 1e-2);

  // Eval mode: torch's BatchNorm and Relu6.
  fused->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(batchnorm_relu6(*fused, x), fused->forward(x).clamp(0, 6)));
}

// Outside its case (eval mode, fp32, NCHW) it is exactly bn.forward(x).relu_().
TEST(BatchNormRelu, OtherCasesRunTorchsBatchNormAndRelu) {
  torch::manual_seed(6);
  auto [fused, reference] = twin_batchnorms(8, 0.1);
  const auto check = [&](const torch::Tensor& x) {
    const auto y = batchnorm_relu(*fused, x);
    const auto y_ref = reference->forward(x.clone()).relu_();
    EXPECT_TRUE(torch::equal(y, y_ref));
    EXPECT_TRUE(torch::equal(fused->running_mean, reference->running_mean));
    EXPECT_TRUE(torch::equal(batchnorm(*fused, x), reference->forward(x.clone())));
  };
  check(torch::randn({2, 8, 5, 5}));                       // fp32
  check(torch::randn({2, 8, 5, 5}).to(torch::kBFloat16));  // NCHW
  fused->eval();
  reference->eval();
  check(torch::randn({2, 8, 5, 5})
            .to(torch::kBFloat16)
            .contiguous(torch::MemoryFormat::ChannelsLast));
}

// A conv + BatchNorm + ReLU + conv + BatchNorm sequence gives the same as its own forward, fused
// or not.
TEST(BatchNormRelu, SequenceFusingMatchesTheSequencesForward) {
  torch::manual_seed(8);
  nn::Sequential sequence(nn::Conv2d(nn::Conv2dOptions(3, 16, 3).padding(1).bias(false)),
                          nn::BatchNorm2d(16), nn::ReLU(nn::ReLUOptions(true)),
                          nn::Conv2d(nn::Conv2dOptions(16, 8, 1).bias(false)), nn::BatchNorm2d(8));
  auto twin = std::dynamic_pointer_cast<nn::SequentialImpl>(sequence->clone());
  const auto x = torch::randn({2, 3, 12, 12});
  EXPECT_TRUE(torch::equal(forward_fusing_batchnorm(*sequence, x), twin->forward(x)));
  const auto x16 = x.to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast);
  sequence->to(torch::kBFloat16);
  twin->to(torch::kBFloat16);
  for (auto& p : sequence->parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  for (auto& p : twin->parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  const auto fused = forward_fusing_batchnorm(*sequence, x16);
  EXPECT_NE(fused.grad_fn()->name().find("BatchNormReluFunction"), std::string::npos);
  // The first BatchNorm (with its ReLU), behind the second convolution, is fused too.
  const auto& convolution = fused.grad_fn()->next_edges()[0].function;
  EXPECT_NE(convolution->next_edges()[0].function->name().find("BatchNormReluFunction"),
            std::string::npos);
  EXPECT_LT(relative_error(fused, twin->forward(x16)), 2e-2);
}

}  // namespace
}  // namespace sarseg::models
