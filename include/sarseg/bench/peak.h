// The machine's ceiling for `sarseg bench peak`: the best GFLOP/s LibTorch reaches here on large
// convolutions and matrix products, so that model throughput can be read as a share of it.
//
//   PeakOptions options;  options.threads = 2;
//   for (const auto& shape : default_peak_shapes("cpu"))
//     auto m = measure_peak(shape, options);   // m.best_gflops()
//
// Kept free of torch headers so the command and the tests include it cheaply.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sarseg::bench {

// One operation whose FLOP count is exact: a stride-1 "same" convolution or a matrix product.
struct PeakShape {
  std::string kind = "conv";  // "conv" or "matmul"
  // conv: [batch, in_channels, height, width] * [out_channels, in_channels, kernel, kernel]
  int64_t batch = 1, in_channels = 1, out_channels = 1, height = 1, width = 1, kernel = 3;
  bool channels_last = false;
  // matmul: [m, k] x [k, n]
  int64_t m = 1, n = 1, k = 1;

  static PeakShape conv(int64_t batch, int64_t in_channels, int64_t out_channels, int64_t size,
                        int64_t kernel, bool channels_last = false);
  static PeakShape matmul(int64_t m, int64_t n, int64_t k);

  // Multiply-adds x 2.
  double flops() const;
  // e.g. "conv3x3 256->256 64x64 b4 NHWC" or "matmul 1024x1024x1024".
  std::string name() const;
};

struct PeakOptions {
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  std::string dtype = "fp32";  // "fp32" or "bf16"
  int threads = 1;             // torch intra-op threads while measuring (CPU)
  double seconds = 0.4;        // timed budget per shape after one warm-up run
  int max_repeats = 1000;
};

struct PeakMeasurement {
  PeakShape shape;
  std::string device;
  std::string dtype;
  int threads = 1;
  int repeats = 0;
  double best_seconds = 0.0;
  double median_seconds = 0.0;

  double best_gflops() const { return shape.flops() / best_seconds / 1e9; }
  double median_gflops() const { return shape.flops() / median_seconds / 1e9; }
};

// Shapes sized so one CPU run takes a fraction of a second here and a GPU one fills the chip.
std::vector<PeakShape> default_peak_shapes(const std::string& device);

// Runs `shape` once to warm up, then repeats it on random data until `options.seconds` have
// passed (at least twice, unless one run alone exceeds the budget). Restores the thread count.
PeakMeasurement measure_peak(const PeakShape& shape, const PeakOptions& options);

// Whether the CPU has native bf16 arithmetic (avx512_bf16 or amx_bf16), from a /proc/cpuinfo
// "flags" line; without it LibTorch runs bf16 convolutions on a slow generic path.
bool cpu_flags_have_bf16(const std::string& flags_line);
// The same for this machine; `reason` says what was found.
bool cpu_has_bf16(std::string* reason = nullptr);

}  // namespace sarseg::bench
