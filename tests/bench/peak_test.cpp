// The machine-ceiling measurement: exact FLOP counts, CPU feature detection, and a real (tiny)
// timed run whose figures are consistent.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "sarseg/bench/peak.h"
#include "sarseg/util/error.h"

namespace sarseg::bench {

TEST(PeakShape, ConvolutionFlopsCountEveryMultiplyAdd) {
  // 2 * batch * Cout * Cin * k * k * H * W for a stride-1 "same" convolution.
  const auto shape = PeakShape::conv(2, 3, 5, 7, 3);
  EXPECT_DOUBLE_EQ(shape.flops(), 2.0 * 2 * 5 * 3 * 9 * 49);
  EXPECT_EQ(shape.name(), "conv3x3 3->5 7x7 b2 NCHW");
  EXPECT_EQ(PeakShape::conv(1, 4, 4, 8, 1, true).name(), "conv1x1 4->4 8x8 b1 NHWC");
}

TEST(PeakShape, MatmulFlopsAreTwoMnk) {
  const auto shape = PeakShape::matmul(3, 5, 7);
  EXPECT_DOUBLE_EQ(shape.flops(), 2.0 * 3 * 5 * 7);
  EXPECT_EQ(shape.name(), "matmul 3x5x7");
}

TEST(PeakShape, DefaultShapesAreLargeEnoughToMeasure) {
  for (const auto& device : {"cpu", "cuda"}) {
    const auto shapes = default_peak_shapes(device);
    ASSERT_FALSE(shapes.empty());
    for (const auto& shape : shapes)
      EXPECT_GE(shape.flops(), 1e9) << shape.name();
  }
}

TEST(CpuFlags, Bf16NeedsAvx512Bf16OrAmx) {
  EXPECT_TRUE(cpu_flags_have_bf16("flags\t\t: fpu sse avx512f avx512_bf16 avx2"));
  EXPECT_TRUE(cpu_flags_have_bf16("flags : fpu amx_bf16 amx_tile"));
  EXPECT_FALSE(cpu_flags_have_bf16("flags : fpu avx2 avx512f avx512_vnni"));
  EXPECT_FALSE(cpu_flags_have_bf16("flags : avx512_bf16x"));  // whole words only
  EXPECT_FALSE(cpu_flags_have_bf16(""));
}

TEST(MeasurePeak, TinyMatmulGivesConsistentFigures) {
  const int threads_before = torch::get_num_threads();
  PeakOptions options;
  options.threads = 1;
  options.seconds = 0.02;
  const auto m = measure_peak(PeakShape::matmul(64, 64, 64), options);
  EXPECT_GE(m.repeats, 2);
  EXPECT_GT(m.best_seconds, 0.0);
  EXPECT_LE(m.best_seconds, m.median_seconds);
  EXPECT_GE(m.best_gflops(), m.median_gflops());
  EXPECT_EQ(m.threads, 1);
  EXPECT_EQ(torch::get_num_threads(), threads_before) << "thread count restored";
}

TEST(MeasurePeak, TinyConvolutionBothLayouts) {
  PeakOptions options;
  options.seconds = 0.01;
  for (const bool channels_last : {false, true}) {
    const auto m = measure_peak(PeakShape::conv(1, 8, 8, 16, 3, channels_last), options);
    EXPECT_GE(m.repeats, 2);
    EXPECT_GT(m.best_gflops(), 0.0);
  }
}

TEST(MeasurePeak, RejectsUnknownDtypeAndKind) {
  PeakOptions options;
  options.dtype = "fp8";
  EXPECT_THROW(measure_peak(PeakShape::matmul(8, 8, 8), options), UserError);
  PeakShape shape = PeakShape::matmul(8, 8, 8);
  shape.kind = "fft";
  EXPECT_THROW(measure_peak(shape, PeakOptions{}), UserError);
}

}  // namespace sarseg::bench
