// The reduced-precision path (bf16 autocast on CPU): what `auto` resolves to. Its weighted-F1
// bound on a trained model is in trained_precision_test.cpp (label slow).
#include <gtest/gtest.h>

#include "sarseg/infer/inference.h"

namespace sarseg::infer {
namespace {

TEST(ReducedPrecision, AutoMeansBf16OnlyWithMatrixUnits) {
  InferenceOptions o;
  o.precision = "auto";
  EXPECT_EQ(resolved_precision(o), cpu_bf16_units() == CpuBf16::kMatrix ? "bf16" : "fp32");
  o.precision = "bf16";
  EXPECT_EQ(resolved_precision(o), "bf16");
}

// auto also picks the layout: channels-last and folded BatchNorm on CPUs with bf16 units (oneDNN's
// AMX and AVX-512 convolutions want NHWC; folding removes 22 BatchNorm passes), and it says which
// path runs.
TEST(ReducedPrecision, AutoPicksTheLayoutWithBf16AndSaysWhich) {
  InferenceOptions o;
  o.precision = "auto";
  const auto automatic = resolve_arithmetic(o);
  EXPECT_EQ(automatic.channels_last, cpu_has_native_bf16());
  EXPECT_EQ(automatic.fold_batchnorm, cpu_has_native_bf16());
  EXPECT_EQ(automatic.description.rfind(automatic.precision, 0), 0u) << automatic.description;
  EXPECT_NE(automatic.description.find("precision auto"), std::string::npos);
  EXPECT_EQ(to_json(o).at("resolved_precision"), automatic.precision);
  o.precision = "fp32";
  const auto fp32 = resolve_arithmetic(o);
  EXPECT_EQ(fp32.precision, "fp32");
  EXPECT_FALSE(fp32.channels_last);
  EXPECT_FALSE(fp32.fold_batchnorm);
  EXPECT_EQ(fp32.description, "fp32");
}

}  // namespace
}  // namespace sarseg::infer
