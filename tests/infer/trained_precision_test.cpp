// Reduced precision on a model trained for a few seconds (blob_scenes.h): bf16 autocast and int8
// must change the test-set weighted F1 by less than 0.005 against fp32 (the bound the performance
// issue sets for reduced precision). Trains, so label slow; the in-process checks of each path
// are in bf16_test.cpp and int8_test.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "blob_scenes.h"
#include "sarseg/models/int8.h"

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

// resnet18 to layer3 + deeplabv3, as the paper, trained once for the tests below.
const models::SegmentationModel& trained_paper_model() {
  static const auto model = [] {
    models::ModelSpec spec;
    spec.aspp_channels = 32;
    spec.dropout = 0.1;
    return testing::train_on_blobs(spec, 60, 2e-3);
  }();
  return model;
}

TEST(ReducedPrecision, Int8ChangesWeightedF1ByLessThanHalfAPercentPoint) {
  if (!models::int8_engine_available()) GTEST_SKIP() << "no quantized CPU engine in this LibTorch";
  testing::expect_weighted_f1_kept(trained_paper_model(), "int8");
}

// precision auto on the paper's model: with AMX, bf16 autocast + channels-last + folded
// BatchNorm; with avx512_bf16 only, fp32 + channels-last + folded BatchNorm; else plain fp32.
TEST(ReducedPrecision, AutoChangesWeightedF1ByLessThanHalfAPercentPoint) {
  testing::expect_weighted_f1_kept(trained_paper_model(), "auto");
}

}  // namespace
}  // namespace sarseg::infer
