#include "sarseg/io/stats.h"

#include <algorithm>
#include <cmath>

namespace sarseg::io {

namespace {
constexpr size_t kExactPercentileLimit = 4'000'000;
}

double percentile(std::vector<float>& values, double percent) {
  if (values.empty()) return std::nan("");
  const double rank =
      std::clamp(percent, 0.0, 100.0) / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lower = static_cast<size_t>(std::floor(rank));
  const size_t upper = std::min(lower + 1, values.size() - 1);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(lower),
                   values.end());
  const double low_value = values[lower];
  if (upper == lower) return low_value;
  // The next order statistic is the minimum of the part above `lower`.
  const double high_value =
      *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(lower) + 1, values.end());
  return low_value + (rank - static_cast<double>(lower)) * (high_value - low_value);
}

BandStatistics compute_band_statistics(const FloatRaster& pixels, const Raster<uint8_t>& valid,
                                       const std::vector<double>& percents) {
  BandStatistics stats;
  double sum = 0, sum_sq = 0;
  std::vector<float> values;
  values.reserve(std::min(pixels.data.size(), kExactPercentileLimit));
  for (size_t i = 0; i < pixels.data.size(); ++i) {
    if (!valid.empty() && !valid.data[i]) continue;
    const float v = pixels.data[i];
    if (!std::isfinite(v)) continue;
    if (stats.count == 0) {
      stats.min = stats.max = v;
    } else {
      stats.min = std::min<double>(stats.min, v);
      stats.max = std::max<double>(stats.max, v);
    }
    ++stats.count;
    sum += v;
    sum_sq += static_cast<double>(v) * v;
  }
  if (stats.count == 0) {
    stats.mean = stats.std = stats.min = stats.max = std::nan("");
    for (double p : percents)
      stats.percentiles.emplace_back(p, std::nan(""));
    return stats;
  }
  const double n = static_cast<double>(stats.count);
  stats.mean = sum / n;
  stats.std = std::sqrt(std::max(0.0, sum_sq / n - stats.mean * stats.mean));
  // Evenly strided sample beyond the exact limit keeps memory bounded on 5000x5000 scenes.
  const size_t stride = std::max<size_t>(
      1, (static_cast<size_t>(stats.count) + kExactPercentileLimit - 1) / kExactPercentileLimit);
  size_t seen = 0;
  for (size_t i = 0; i < pixels.data.size(); ++i) {
    if (!valid.empty() && !valid.data[i]) continue;
    const float v = pixels.data[i];
    if (!std::isfinite(v)) continue;
    if (seen++ % stride == 0) values.push_back(v);
  }
  for (double p : percents)
    stats.percentiles.emplace_back(p, percentile(values, p));
  return stats;
}

std::array<int64_t, 256> class_histogram(const LabelRaster& labels) {
  std::array<int64_t, 256> counts{};
  for (uint8_t v : labels.data)
    ++counts[v];
  return counts;
}

}  // namespace sarseg::io
