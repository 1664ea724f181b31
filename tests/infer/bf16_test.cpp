// The reduced-precision path (bf16 autocast on CPU): what `auto` resolves to. Its weighted-F1
// bound on a trained model is in trained_precision_test.cpp (label slow).
#include <gtest/gtest.h>

#include "sarseg/infer/inference.h"

namespace sarseg::infer {
namespace {

TEST(ReducedPrecision, AutoMeansBf16OnlyWithNativeSupport) {
  InferenceOptions o;
  o.precision = "auto";
  EXPECT_EQ(resolved_precision(o), cpu_has_native_bf16() ? "bf16" : "fp32");
  o.precision = "bf16";
  EXPECT_EQ(resolved_precision(o), "bf16");
}

}  // namespace
}  // namespace sarseg::infer
