// The reduced-precision path (bf16 autocast on CPU) must change the test-set weighted F1 by less
// than 0.005 against fp32, on a model trained for a few seconds (blob_scenes.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "blob_scenes.h"

namespace sarseg::infer {
namespace {

TEST(ReducedPrecision, Bf16ChangesWeightedF1ByLessThanHalfAPercentPoint) {
  models::ModelSpec spec;
  spec.encoder = "mobilenet_v2";
  spec.decoder = "unet";
  spec.decoder_channels = {32, 16, 16, 8, 8};
  const auto model = testing::train_on_blobs(spec, 60, 2e-3);
  testing::expect_weighted_f1_kept(model, "bf16");
}

TEST(ReducedPrecision, AutoMeansBf16OnlyWithNativeSupport) {
  InferenceOptions o;
  o.precision = "auto";
  EXPECT_EQ(resolved_precision(o), cpu_has_native_bf16() ? "bf16" : "fp32");
  o.precision = "bf16";
  EXPECT_EQ(resolved_precision(o), "bf16");
}

}  // namespace
}  // namespace sarseg::infer
