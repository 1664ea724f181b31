// Int8 inference (models::Int8Model through ScenePredictor): the folded fp32 graph equals the
// model and int8 logits stay close to it. The weighted-F1 bound on a trained model is in
// trained_precision_test.cpp (label slow).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "blob_scenes.h"
#include "sarseg/models/int8.h"
#include "sarseg/util/error.h"

namespace sarseg::infer {
namespace {

models::ModelSpec small_paper_model() {
  models::ModelSpec spec;  // resnet18 to layer3 + deeplabv3, as the paper
  spec.aspp_channels = 32;
  return spec;
}

// A model whose BatchNorm statistics are not the identity: a few training-mode passes move them.
models::SegmentationModel model_with_batchnorm_statistics(const models::ModelSpec& spec) {
  torch::manual_seed(3);
  auto model = models::build_model(spec);
  model->train();
  {
    torch::NoGradGuard no_grad;
    for (int i = 0; i < 5; ++i)
      model->forward(torch::randn({2, spec.in_channels, 64, 64}) * 2 + 0.5);
  }
  model->eval();
  return model;
}

TEST(Int8Model, FoldedFp32GraphEqualsTheModel) {
  if (!models::int8_engine_available()) GTEST_SKIP() << "no quantized CPU engine in this LibTorch";
  auto spec = small_paper_model();
  spec.heads = {models::HeadSpec{"a", 4, false}, models::HeadSpec{"b", 1, true}};
  auto model = model_with_batchnorm_statistics(spec);
  const models::Int8Model int8(model);
  EXPECT_EQ(int8.quantized_convolutions(), 1 + 2 * 6 + 2 + 5 + 2);  // stem, blocks, downsamples,
                                                                    // ASPP, project, block
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 3, 96, 128});
  const auto expected = model->forward_heads(x);
  const auto got = int8.forward_heads_fp32(x);
  ASSERT_EQ(got.size(), 2u);
  for (size_t h = 0; h < 2; ++h) {
    ASSERT_EQ(got[h].sizes(), expected[h].sizes());
    EXPECT_LT((got[h] - expected[h]).abs().max().item<double>(),
              1e-4 * std::max(1.0, expected[h].abs().max().item<double>()));
  }
}

// The bf16 folded graph (precision auto on an AMX CPU): logits within bf16 rounding of the
// model's (its max pooling by strided maxima included), from a graph that needs neither an int8
// engine nor calibration.
TEST(Int8Model, FoldedBf16GraphStaysCloseToTheModel) {
  auto spec = small_paper_model();
  spec.heads = {models::HeadSpec{"a", 4, false}, models::HeadSpec{"b", 1, true}};
  auto model = model_with_batchnorm_statistics(spec);
  const auto graph = models::Int8Model::folded_bf16(model);
  EXPECT_THROW(graph.forward_heads(torch::zeros({1, 3, 64, 64})), std::logic_error);
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 96, 128});
  const auto expected = model->forward_heads(x);
  const auto got = graph.forward_heads_bf16(x);
  ASSERT_EQ(got.size(), 2u);
  for (size_t h = 0; h < 2; ++h) {
    ASSERT_EQ(got[h].sizes(), expected[h].sizes());
    EXPECT_EQ(got[h].scalar_type(), torch::kFloat);
    const double scale = expected[h].abs().max().item<double>();
    const double error = (got[h] - expected[h]).abs().max().item<double>() / scale;
    std::printf("head %zu: max |bf16 graph - fp32 model| / max |fp32| = %.4f\n", h, error);
    EXPECT_LT(error, 0.05);
  }
  // Class agreement of the first head.
  const double agree =
      (got[0].argmax(1) == expected[0].argmax(1)).to(torch::kDouble).mean().item<double>();
  EXPECT_GT(agree, 0.95);
}

TEST(Int8Model, LogitsStayCloseToFp32) {
  if (!models::int8_engine_available()) GTEST_SKIP() << "no quantized CPU engine in this LibTorch";
  auto model = model_with_batchnorm_statistics(small_paper_model());
  models::Int8Model int8(model);
  torch::NoGradGuard no_grad;
  const auto calibration = torch::randn({1, 3, 128, 128});
  EXPECT_THROW(int8.forward_heads(calibration), std::logic_error);
  int8.calibrate({calibration});
  ASSERT_TRUE(int8.calibrated());
  const auto x = torch::randn({1, 3, 128, 128});
  const auto fp32 = model->forward(x);
  const auto q = int8.forward_heads(x).front();
  ASSERT_EQ(q.sizes(), fp32.sizes());
  ASSERT_EQ(q.scalar_type(), torch::kFloat);
  const double relative = ((q - fp32).norm() / fp32.norm()).item<double>();
  std::printf("int8 vs fp32 logits: relative L2 error %.4f\n", relative);
  EXPECT_LT(relative, 0.1);
  EXPECT_GT(relative, 0.0) << "int8 gave fp32's numbers exactly: it did not run in int8";
  // Same input and calibration, same output.
  EXPECT_TRUE(torch::equal(q, int8.forward_heads(x).front()));
}

// Every weight equal (the top of its channel's int8 range) and an input of ones (activations at
// the top of theirs): where the engine adds pairs of u8 x s8 products in 16 bits (oneDNN on AVX2
// without VNNI), 8-bit weights saturate there (2 x 255 x 127 > 32767) and the logits come out
// about halved; the 7-bit weights (2 x 255 x 63 < 32767) do not.
TEST(Int8Model, NoSaturationAtTheTopOfTheRanges) {
  if (!models::int8_engine_available()) GTEST_SKIP() << "no quantized CPU engine in this LibTorch";
  auto model = models::build_model(small_paper_model());
  model->eval();
  {
    torch::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) {
      auto& p = item.value();
      if (p.dim() == 4) p.fill_(1.0 / static_cast<double>(p[0].numel()));  // averages
      if (p.dim() == 1) p.fill_(item.key().find("weight") != std::string::npos ? 1.0 : 0.0);
    }
    for (auto& item : model->named_buffers()) {
      if (item.key().find("running_mean") != std::string::npos) item.value().zero_();
      if (item.key().find("running_var") != std::string::npos) item.value().fill_(1.0);
    }
  }
  models::Int8Model int8(model);
  torch::NoGradGuard no_grad;
  const auto x = torch::ones({1, 3, 128, 128});
  int8.calibrate({x});
  const auto fp32 = model->forward(x);
  const auto q = int8.forward_heads(x).front();
  const double relative = ((q - fp32).norm() / fp32.norm()).item<double>();
  std::printf("equal weights, input of ones: int8 vs fp32 logits relative L2 error %.4f\n",
              relative);
  EXPECT_LT(relative, 0.05);
}

TEST(Int8Model, RefusesArchitecturesItDoesNotCover) {
  models::ModelSpec spec;
  spec.encoder = "mobilenet_v2";
  spec.decoder = "unet";
  EXPECT_NE(models::int8_unsupported_reason(spec).find("mobilenet_v2+unet"), std::string::npos);
  EXPECT_EQ(models::int8_unsupported_reason(small_paper_model()), "");
  const auto model = models::build_model(spec);
  InferenceOptions options;
  options.precision = "int8";
  data::Normalization norm;
  norm.bands = {"hh_db", "hv_db", "incidence_deg"};
  try {
    ScenePredictor predictor(model, norm, {"classes"}, options);
    FAIL() << "int8 accepted mobilenet_v2+unet";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--precision fp32"), std::string::npos) << e.what();
  }
}

TEST(ReducedPrecision, Int8OnlyOnTheCpu) {
  InferenceOptions options;
  options.precision = "int8";
  EXPECT_NO_THROW(validate(options));
  options.device = "cuda";
  EXPECT_THROW(validate(options), UserError);  // no CUDA here, or int8 refused on it
}

}  // namespace
}  // namespace sarseg::infer
