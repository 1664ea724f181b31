#include <gtest/gtest.h>
#include <torch/torch.h>

#include "sarseg/models/layers.h"
#include "sarseg/util/torch_compat.h"

namespace sarseg::models {
namespace {

// dilated_conv3x3 against torch's full dilated convolution: output, input and weight gradients,
// for maps smaller than the rate in neither, one or both directions.
void expect_same_as_full_convolution(int64_t height, int64_t width, int64_t rate) {
  torch::manual_seed(7);
  auto x = torch::randn({2, 5, height, width}, torch::requires_grad());
  auto weight = torch::randn({4, 5, 3, 3}, torch::requires_grad());
  auto bias = torch::randn({4}, torch::requires_grad());
  auto x_full = x.detach().clone().requires_grad_();
  auto weight_full = weight.detach().clone().requires_grad_();
  auto bias_full = bias.detach().clone().requires_grad_();
  auto grad_output = torch::randn({2, 4, height, width});

  auto fast = dilated_conv3x3(x, weight, bias, rate);
  auto full = torch::conv2d(x_full, weight_full, bias_full, 1, rate, rate);
  ASSERT_EQ(fast.sizes(), full.sizes());
  EXPECT_LT((fast - full).abs().max().item<double>(), 1e-5);
  fast.backward(grad_output);
  full.backward(grad_output);
  EXPECT_LT((x.grad() - x_full.grad()).abs().max().item<double>(), 1e-5);
  EXPECT_LT((weight.grad() - weight_full.grad()).abs().max().item<double>(), 1e-4);
  EXPECT_LT((bias.grad() - bias_full.grad()).abs().max().item<double>(), 1e-4);
}

TEST(DilatedConv3x3, EqualsFullConvolutionWhenNoTapIsDropped) {
  expect_same_as_full_convolution(9, 11, 3);
}

TEST(DilatedConv3x3, EqualsFullConvolutionWithRowsDropped) {
  expect_same_as_full_convolution(6, 11, 7);
}

TEST(DilatedConv3x3, EqualsFullConvolutionWithColumnsDropped) {
  expect_same_as_full_convolution(13, 5, 5);
}

TEST(DilatedConv3x3, EqualsFullConvolutionWithBothDropped) {
  expect_same_as_full_convolution(6, 8, 12);
}

TEST(DilatedConv3x3, DroppedTapsGetZeroGradient) {
  auto x = torch::randn({1, 2, 4, 4});
  auto weight = torch::randn({3, 2, 3, 3}, torch::requires_grad());
  dilated_conv3x3(x, weight, torch::Tensor(), 4).sum().backward();
  auto off_centre = weight.grad().clone();
  const auto all = torch::indexing::Slice();
  EXPECT_GT(off_centre.index({all, all, 1, 1}).abs().sum().item<double>(), 0.0);
  off_centre.index_put_({all, all, 1, 1}, 0.0);
  EXPECT_EQ(off_centre.abs().sum().item<double>(), 0.0);
}

// Under bf16 autocast on the CPU, dilated_conv3x3 computes the weight gradient of a convolution
// whose kernel reads mostly padding tap by tap (oneDNN's bf16 kernel falls back to a slow gemm
// there). Its output and all three gradients reach the fp32 leaves and match an fp32 convolution
// of the same bf16-rounded values within bf16 rounding; the path is taken only where at most half
// the kernel's work lies inside the map.
void expect_bf16_autocast_matches_fp32(int64_t height, int64_t width, int64_t rate,
                                       bool expect_tapwise, bool with_bias = true) {
  torch::manual_seed(11);
  const auto round = [](const torch::Tensor& t) {
    return t.to(torch::kBFloat16).to(torch::kFloat);
  };
  const auto x0 = round(torch::randn({2, 6, height, width}));
  const auto weight0 = round(torch::randn({5, 6, 3, 3}) * 0.2);
  const auto bias0 = round(torch::randn({5}));
  const auto upstream = round(torch::randn({2, 5, height, width}));
  auto x = x0.clone().requires_grad_();
  auto weight = weight0.clone().requires_grad_();
  auto bias = bias0.clone().requires_grad_();
  auto x_ref = x0.clone().requires_grad_();
  auto weight_ref = weight0.clone().requires_grad_();
  auto bias_ref = bias0.clone().requires_grad_();

  torch::Tensor y;
  {
    compat::CpuAutocastGuard autocast(true);
    y = dilated_conv3x3(x, weight, with_bias ? bias : torch::Tensor(), rate);
  }
  ASSERT_TRUE(y.grad_fn());
  EXPECT_EQ(y.grad_fn()->name().find("ConvWithTapwiseWeightGradient") != std::string::npos,
            expect_tapwise)
      << y.grad_fn()->name();
  y.backward(upstream.to(y.scalar_type()));
  auto y_ref =
      torch::conv2d(x_ref, weight_ref, with_bias ? bias_ref : torch::Tensor(), 1, rate, rate);
  y_ref.backward(upstream);

  const auto relative = [](const torch::Tensor& a, const torch::Tensor& b) {
    return ((a.to(torch::kFloat) - b).abs().max() / b.abs().max()).item<double>();
  };
  EXPECT_LT(relative(y, y_ref), 1e-2);
  ASSERT_TRUE(weight.grad().defined() && x.grad().defined());
  EXPECT_EQ(weight.grad().scalar_type(), torch::kFloat);
  EXPECT_LT(relative(x.grad(), x_ref.grad()), 1e-2);
  EXPECT_LT(relative(weight.grad(), weight_ref.grad()), 1e-2);
  ASSERT_EQ(bias.grad().defined(), with_bias);
  if (with_bias) {
    EXPECT_LT(relative(bias.grad(), bias_ref.grad()), 1e-2);
  }
}

TEST(DilatedConv3x3, Bf16AutocastGradientsTapwiseOnAMapSmallerThanTwiceTheRate) {
  expect_bf16_autocast_matches_fp32(16, 16, 12, true);  // the paper's rate-12 ASPP branch
}

TEST(DilatedConv3x3, Bf16AutocastGradientsTapwiseWithRowsDroppedAndNoBias) {
  expect_bf16_autocast_matches_fp32(8, 16, 12, true, /*with_bias=*/false);
}

TEST(DilatedConv3x3, Bf16AutocastKeepsTorchsGradientWhereMostOfTheKernelIsInside) {
  expect_bf16_autocast_matches_fp32(16, 16, 6, false);
}

// conv_forward trained in bf16 autocast on the CPU: the output and the gradients of x, weight and
// bias reach the fp32 leaves and match an fp32 convolution of the same bf16-rounded values within
// bf16 rounding, through the function named `path` ("" for the module's own).
void expect_conv_forward_matches_fp32(const torch::nn::Conv2dOptions& options,
                                      std::vector<int64_t> input_shape, const std::string& path) {
  torch::manual_seed(12);
  const auto round = [](const torch::Tensor& t) {
    return t.to(torch::kBFloat16).to(torch::kFloat);
  };
  torch::nn::Conv2d conv(options);
  torch::nn::Conv2d conv_ref(options);
  {
    torch::NoGradGuard no_grad;
    conv->weight.copy_(round(conv->weight));
    conv_ref->weight.copy_(conv->weight);
    if (options.bias()) {
      conv->bias.copy_(round(conv->bias));
      conv_ref->bias.copy_(conv->bias);
    }
  }
  const auto x0 = round(torch::randn(input_shape)).contiguous(torch::MemoryFormat::ChannelsLast);
  auto x = x0.clone().requires_grad_();
  auto x_ref = x0.clone().requires_grad_();
  torch::Tensor y;
  {
    compat::CpuAutocastGuard autocast(true);
    y = conv_forward(*conv, x);
  }
  ASSERT_TRUE(y.grad_fn());
  const auto name = y.grad_fn()->name();
  if (path.empty()) {
    EXPECT_EQ(name.find("WeightGradient"), std::string::npos) << name;
  } else {
    EXPECT_NE(name.find(path), std::string::npos) << name;
  }
  auto y_ref = conv_ref->forward(x_ref);
  ASSERT_EQ(y.sizes(), y_ref.sizes());
  const auto upstream = round(torch::randn(y_ref.sizes()));
  y.backward(upstream.to(y.scalar_type()));
  y_ref.backward(upstream);
  const auto relative = [](const torch::Tensor& a, const torch::Tensor& b) {
    return ((a.to(torch::kFloat) - b).abs().max() / b.abs().max()).item<double>();
  };
  EXPECT_LT(relative(y, y_ref), 1e-2);
  EXPECT_EQ(conv->weight.grad().scalar_type(), torch::kFloat);
  EXPECT_LT(relative(x.grad(), x_ref.grad()), 1e-2);
  EXPECT_LT(relative(conv->weight.grad(), conv_ref->weight.grad()), 1e-2);
  if (options.bias()) {
    EXPECT_LT(relative(conv->bias.grad(), conv_ref->bias.grad()), 1e-2);
  }
}

TEST(ConvForward, Bf16PointwiseWeightGradientFromAMatrixProduct) {
  expect_conv_forward_matches_fp32(torch::nn::Conv2dOptions(40, 24, 1), {2, 40, 7, 9},
                                   "ConvWithTapwiseWeightGradient");
}

TEST(ConvForward, Bf16StemWeightGradientFromTheSpaceToDepthConvolution) {
  const auto stem = torch::nn::Conv2dOptions(3, 16, 7).stride(2).padding(3).bias(false);
  expect_conv_forward_matches_fp32(stem, {2, 3, 24, 20}, "ConvWithSpaceToDepthWeightGradient");
  // Odd sizes (the rearranged map cropped or padded past the convolution's own padding), a
  // stride of 3, one band.
  expect_conv_forward_matches_fp32(stem, {1, 3, 13, 11}, "ConvWithSpaceToDepthWeightGradient");
  expect_conv_forward_matches_fp32(
      torch::nn::Conv2dOptions(2, 8, 5).stride(3).padding(1).bias(false), {1, 2, 17, 14},
      "ConvWithSpaceToDepthWeightGradient");
  expect_conv_forward_matches_fp32(
      torch::nn::Conv2dOptions(1, 8, 3).stride(2).padding({0, 1}).bias(false), {1, 1, 9, 10},
      "ConvWithSpaceToDepthWeightGradient");
}

TEST(ConvForward, OtherConvolutionsAndNoGradientRunTheModule) {
  expect_conv_forward_matches_fp32(torch::nn::Conv2dOptions(40, 24, 3).padding(1), {1, 40, 6, 6},
                                   "");
  // Many channels or a bias: not the stem's case.
  expect_conv_forward_matches_fp32(torch::nn::Conv2dOptions(8, 8, 3).stride(2).padding(1),
                                   {1, 8, 9, 9}, "");
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(4, 6, 1));
  const auto x = torch::randn({1, 4, 5, 5});
  EXPECT_TRUE(torch::equal(conv_forward(*conv, x), conv->forward(x)));  // fp32
  compat::CpuAutocastGuard autocast(true);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(conv_forward(*conv, x), conv->forward(x)));
}

// upsample_nearest2x: a bf16 channels-last map gives F::interpolate's output (nearest, scale 2)
// exactly, in channels-last, and as gradient each input pixel's four output gradients summed
// (within one bf16 rounding of the fp32 sum); other maps run F::interpolate.
TEST(UpsampleNearest2x, Bf16ChannelsLastEqualsInterpolateAndSumsTheGradient) {
  torch::manual_seed(13);
  namespace F = torch::nn::functional;
  const auto options =
      F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest);
  const auto values =
      torch::randn({2, 5, 7, 3}).to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast);
  auto x = values.clone().requires_grad_();
  const auto y = upsample_nearest2x(x);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_NE(y.grad_fn()->name().find("NearestDoubleFunction"), std::string::npos);
  EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::equal(y, F::interpolate(values, options)));
  const auto upstream = torch::randn({2, 5, 14, 6}).to(torch::kBFloat16);
  y.backward(upstream);
  auto x_ref = values.to(torch::kFloat).requires_grad_();
  F::interpolate(x_ref, options).backward(upstream.to(torch::kFloat));
  const auto error = (x.grad().to(torch::kFloat) - x_ref.grad()).abs();
  EXPECT_TRUE((error <= x_ref.grad().abs() * (1.0 / 256) + 1e-30).all().item<bool>())
      << error.max();

  const auto fp32 = torch::randn({1, 3, 4, 5});
  EXPECT_TRUE(torch::equal(upsample_nearest2x(fp32), F::interpolate(fp32, options)));
}

// models::Relu6 gives torch's ReLU6 forward and gradient in fp32, and in bf16 (where LibTorch
// 1.13 has no CPU backward kernel) the gradient of the same values in fp32, including the
// values at the bounds 0 and 6, where the gradient is zero.
// upsample_bilinear against F::interpolate (bilinear, align_corners=false): output and input
// gradient, for the paper's x16 logits, a non-integer scale, and a single pixel.
void expect_same_as_interpolate(std::vector<int64_t> shape, std::vector<int64_t> size) {
  namespace F = torch::nn::functional;
  torch::manual_seed(9);
  auto x = torch::randn(shape, torch::requires_grad());
  auto x_torch = x.detach().clone().requires_grad_();
  const auto y = upsample_bilinear(x, size);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_NE(y.grad_fn()->name().find("SeparableBilinearFunction"), std::string::npos);
  const auto y_torch = F::interpolate(
      x_torch, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false));
  ASSERT_EQ(y.sizes(), y_torch.sizes());
  EXPECT_LT((y - y_torch).abs().max().item<double>(), 1e-5);
  const auto upstream = torch::randn(y.sizes());
  y.backward(upstream);
  y_torch.backward(upstream);
  EXPECT_LT((x.grad() - x_torch.grad()).abs().max().item<double>(),
            1e-5 * x_torch.grad().abs().max().item<double>());
}

TEST(UpsampleBilinear, EqualsInterpolateForTheLogitsTimes16) {
  expect_same_as_interpolate({3, 6, 16, 16}, {256, 256});
}

TEST(UpsampleBilinear, EqualsInterpolateAtANonIntegerScale) {
  expect_same_as_interpolate({2, 3, 5, 7}, {13, 20});
}

TEST(UpsampleBilinear, EqualsInterpolateFromOnePixel) {
  expect_same_as_interpolate({2, 4, 1, 1}, {6, 5});
}

// A bf16 channels-last map (the ASPP's pooled branch) keeps its type and layout, and matches
// torch's kernel within bf16 rounding; shrinking goes to F::interpolate itself.
TEST(UpsampleBilinear, Bf16ChannelsLastKeepsItsLayoutAndShrinkingCallsInterpolate) {
  namespace F = torch::nn::functional;
  torch::manual_seed(10);
  auto x = torch::randn({2, 16, 8, 8})
               .to(torch::kBFloat16)
               .contiguous(torch::MemoryFormat::ChannelsLast)
               .requires_grad_();
  const auto y = upsample_bilinear(x, {16, 16});
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));
  const auto y_torch =
      F::interpolate(x.detach().to(torch::kFloat), F::InterpolateFuncOptions()
                                                       .size(std::vector<int64_t>{16, 16})
                                                       .mode(torch::kBilinear)
                                                       .align_corners(false));
  EXPECT_LT((y.to(torch::kFloat) - y_torch).abs().max().item<double>(),
            1e-2 * y_torch.abs().max().item<double>());
  y.sum().backward();
  // Away from the border each input pixel feeds weights that sum to 4 at x2.
  EXPECT_NEAR(x.grad()[0][0][3][3].item<double>(), 4.0, 1e-2);
  auto z = torch::randn({1, 2, 8, 8}, torch::requires_grad());
  EXPECT_EQ(upsample_bilinear(z, {4, 4}).grad_fn()->name().find("SeparableBilinearFunction"),
            std::string::npos);
}

TEST(Relu6, MatchesTorchsReLU6InFp32AndBf16) {
  torch::manual_seed(3);
  auto values = (torch::randn({4, 5, 6, 7}) * 4 + 3);
  values.flatten().slice(0, 0, 8).fill_(0);
  values.flatten().slice(0, 8, 16).fill_(6);
  const auto upstream = torch::randn(values.sizes());
  const auto reference = [&](const torch::Tensor& x) {
    auto leaf = x.to(torch::kFloat).clone().requires_grad_();
    const auto y = torch::nn::functional::relu6(leaf);
    y.backward(upstream);
    return std::make_pair(y.detach(), leaf.grad());
  };
  Relu6 relu6;
  for (auto dtype : {torch::kFloat, torch::kBFloat16}) {
    const auto x = values.to(dtype);
    auto leaf = x.clone().requires_grad_();
    const auto y = relu6(leaf * 1);  // in place on a non-leaf, as after a BatchNorm
    y.backward(upstream.to(dtype));
    const auto [expected_y, expected_grad] = reference(x);
    EXPECT_TRUE(torch::equal(y.detach().to(torch::kFloat), expected_y)) << dtype;
    EXPECT_TRUE(
        torch::equal(leaf.grad().to(torch::kFloat), expected_grad.to(dtype).to(torch::kFloat)))
        << dtype;
    EXPECT_EQ(leaf.grad().eq(0).sum().item<int64_t>(), expected_grad.eq(0).sum().item<int64_t>());
  }
}

}  // namespace
}  // namespace sarseg::models
