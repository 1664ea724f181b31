// The reduced-precision path (bf16 autocast on CPU) must change the test-set weighted F1 by less
// than 0.005 against fp32, on a model trained for a few seconds (blob_scenes.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "blob_scenes.h"

namespace sarseg::eval {
namespace {

TEST(ReducedPrecision, Bf16ChangesWeightedF1ByLessThanHalfAPercentPoint) {
  models::ModelSpec spec;
  spec.encoder = "mobilenet_v2";
  spec.decoder = "unet";
  spec.decoder_channels = {32, 16, 16, 8, 8};
  const auto model = testing::train_on_blobs(spec, 60, 2e-3);
  auto weighted_f1 = [&](const std::string& precision) {
    InferenceOptions options;
    options.tile = 0;  // one pass per scene: few, large oneDNN calls (bf16 is emulated without
                       // avx512_bf16 and slow in many small ones)
    options.precision = precision;
    return testing::blob_test_weighted_f1(model, options);
  };
  const double fp32 = weighted_f1("fp32");
  const double bf16 = weighted_f1("bf16");
  RecordProperty("weighted_f1_fp32", std::to_string(fp32));
  RecordProperty("weighted_f1_bf16", std::to_string(bf16));
  std::printf("weighted F1: fp32 %.5f, bf16 %.5f, difference %.5f\n", fp32, bf16, bf16 - fp32);
  EXPECT_GT(fp32, 0.8) << "the model did not learn the scenes; the comparison would mean nothing";
  EXPECT_LT(std::abs(bf16 - fp32), 0.005);
}

TEST(ReducedPrecision, AutoMeansBf16OnlyWithNativeSupport) {
  InferenceOptions o;
  o.precision = "auto";
  EXPECT_EQ(resolved_precision(o), cpu_has_native_bf16() ? "bf16" : "fp32");
  o.precision = "bf16";
  EXPECT_EQ(resolved_precision(o), "bf16");
}

}  // namespace
}  // namespace sarseg::eval
