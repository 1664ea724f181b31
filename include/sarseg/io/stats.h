// Band statistics and class histograms over valid pixels (scene info, reports, evaluation).
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "sarseg/io/scene.h"

namespace sarseg::io {

struct BandStatistics {
  int64_t count = 0;  // valid, finite pixels used
  double mean = 0, std = 0, min = 0, max = 0;
  std::vector<std::pair<double, double>> percentiles;  // (percent, value)
};

// Statistics over pixels where `valid` is non-zero (empty mask = all) and the value is finite.
// Percentiles are exact up to 4 M pixels and use an evenly strided sample of 4 M beyond.
BandStatistics compute_band_statistics(const FloatRaster& pixels, const Raster<uint8_t>& valid = {},
                                       const std::vector<double>& percents = {1, 5, 25, 50, 75, 95,
                                                                              99});
// Value at `percent` (0..100) of `values` (reordered), linear interpolation between ranks.
double percentile(std::vector<float>& values, double percent);

// Pixel count per value 0..255 (255 = no label).
std::array<int64_t, 256> class_histogram(const LabelRaster& labels);

}  // namespace sarseg::io
