#include "sarseg/io/speckle.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <thread>

#include "sarseg/util/error.h"
#include "sarseg/util/find.h"
#include "sarseg/util/strings.h"

namespace sarseg::io {
namespace {

constexpr int64_t kRefinedLeeWindow = 7;
constexpr double kEnhancedLeeDamping = 1.0;  // Lopes et al. 1990, SNAP's default
constexpr double kFrostDamping = 2.0;        // SNAP's default damping factor

// The image a filter reads: intensity with its validity, and the rows one thread writes.
struct Image {
  const float* values = nullptr;
  std::vector<uint8_t> valid;  // 1 = takes part in statistics
  int64_t height = 0, width = 0;
  bool ok(int64_t r, int64_t c) const { return valid[static_cast<size_t>(r * width + c)] != 0; }
  float at(int64_t r, int64_t c) const { return values[r * width + c]; }
};

// Mean and sample variance of the valid pixels of the window centred on (r, c), clipped.
struct WindowStats {
  int64_t count = 0;
  double mean = 0;
  double variance = 0;  // sum of squared deviations / (count - 1); 0 for count < 2
};

WindowStats window_stats(const Image& im, int64_t r, int64_t c, int64_t half) {
  const int64_t r0 = std::max<int64_t>(0, r - half), r1 = std::min(im.height - 1, r + half);
  const int64_t c0 = std::max<int64_t>(0, c - half), c1 = std::min(im.width - 1, c + half);
  double sum = 0, sum_sq = 0;
  int64_t n = 0;
  for (int64_t y = r0; y <= r1; ++y) {
    const float* row = im.values + y * im.width;
    const uint8_t* ok = im.valid.data() + y * im.width;
    for (int64_t x = c0; x <= c1; ++x) {
      if (!ok[x]) continue;
      const double v = row[x];
      sum += v;
      sum_sq += v * v;
      ++n;
    }
  }
  WindowStats s;
  s.count = n;
  if (n == 0) return s;
  s.mean = sum / static_cast<double>(n);
  if (n > 1)
    s.variance =
        std::max(0.0, (sum_sq - sum * s.mean) / static_cast<double>(n - 1));  // one pass, double
  return s;
}

// Lee's minimum mean-square-error estimate mean + b (z - mean), b = var_x / var_y, where the
// signal variance var_x = (var_y - mean^2 noise) / (1 + noise) and `noise` is the speckle's
// squared variation coefficient (1 / looks).
double lee_estimate(double z, double mean, double var_y, double noise) {
  if (var_y <= 0) return mean;
  const double var_x = std::max(0.0, (var_y - mean * mean * noise) / (1.0 + noise));
  return mean + var_x / var_y * (z - mean);
}

using PixelFilter = double (*)(const Image&, int64_t, int64_t, const SpeckleFilterSpec&);

double boxcar(const Image& im, int64_t r, int64_t c, const SpeckleFilterSpec& spec) {
  return window_stats(im, r, c, spec.window / 2).mean;
}

double lee(const Image& im, int64_t r, int64_t c, const SpeckleFilterSpec& spec) {
  const WindowStats s = window_stats(im, r, c, spec.window / 2);
  if (s.mean <= 0) return s.mean;
  return lee_estimate(im.at(r, c), s.mean, s.variance, 1.0 / spec.looks);
}

// Lopes, Touzi & Nezry 1990: the mean below the speckle's variation (homogeneous), the pixel
// itself above Cmax = sqrt(1 + 2/L) (a point target), an exponential blend between.
double enhanced_lee(const Image& im, int64_t r, int64_t c, const SpeckleFilterSpec& spec) {
  const WindowStats s = window_stats(im, r, c, spec.window / 2);
  const double z = im.at(r, c);
  if (s.mean <= 0 || s.variance <= 0) return s.mean;
  const double cu = 1.0 / std::sqrt(spec.looks);
  const double cmax = std::sqrt(1.0 + 2.0 / spec.looks);
  const double ci = std::sqrt(s.variance) / s.mean;
  if (ci <= cu) return s.mean;
  if (ci >= cmax) return z;
  const double w = std::exp(-kEnhancedLeeDamping * (ci - cu) / (cmax - ci));
  return s.mean * w + z * (1.0 - w);
}

// Frost et al. 1982: weights exp(-K Ci^2 d) of the Euclidean distance d to the centre, with
// Ci^2 = var / mean^2 of the window.
double frost(const Image& im, int64_t r, int64_t c, const SpeckleFilterSpec& spec) {
  const int64_t half = spec.window / 2;
  const WindowStats s = window_stats(im, r, c, half);
  if (s.mean <= 0 || s.variance <= 0) return s.mean;
  const double a = kFrostDamping * s.variance / (s.mean * s.mean);
  double sum = 0, weights = 0;
  for (int64_t y = std::max<int64_t>(0, r - half); y <= std::min(im.height - 1, r + half); ++y)
    for (int64_t x = std::max<int64_t>(0, c - half); x <= std::min(im.width - 1, c + half); ++x) {
      if (!im.ok(y, x)) continue;
      const double d = std::hypot(static_cast<double>(y - r), static_cast<double>(x - c));
      const double w = std::exp(-a * d);
      sum += w * im.at(y, x);
      weights += w;
    }
  return sum / weights;
}

// Lopes et al. 1990 Gamma-MAP: the maximum a posteriori intensity under a gamma-distributed
// scene (shape alpha from the window) and L-look gamma speckle; the mean below Cu, the pixel
// above Cmax = sqrt(2) Cu.
double gamma_map(const Image& im, int64_t r, int64_t c, const SpeckleFilterSpec& spec) {
  const WindowStats s = window_stats(im, r, c, spec.window / 2);
  const double z = im.at(r, c);
  if (s.mean <= 0 || s.variance <= 0) return s.mean;
  const double looks = spec.looks;
  const double cu2 = 1.0 / looks;
  const double ci2 = s.variance / (s.mean * s.mean);
  if (ci2 <= cu2) return s.mean;
  if (ci2 >= 2.0 * cu2) return z;
  const double alpha = (1.0 + cu2) / (ci2 - cu2);
  const double b = alpha - looks - 1.0;
  const double d = s.mean * s.mean * b * b + 4.0 * alpha * looks * s.mean * z;
  return (b * s.mean + std::sqrt(std::max(0.0, d))) / (2.0 * alpha);
}

// ---- refined Lee (SNAP's RefinedLee) -------------------------------------------------------

// The eight 28-pixel masks of the 7x7 window, each the half of it (centre line included) on one
// side of an edge: 0 right, 1 upper right of the main diagonal, 2 top, 3 upper left of the
// anti-diagonal, 4 left, 5 lower left, 6 bottom, 7 lower right.
const std::array<std::array<bool, 49>, 8>& refined_lee_masks() {
  static const auto masks = [] {
    std::array<std::array<bool, 49>, 8> m{};
    for (int y = 0; y < 7; ++y)
      for (int x = 0; x < 7; ++x) {
        const int i = y * 7 + x;
        m[0][i] = x >= 3;
        m[1][i] = x >= y;
        m[2][i] = y <= 3;
        m[3][i] = x + y <= 6;
        m[4][i] = x <= 3;
        m[5][i] = x <= y;
        m[6][i] = y >= 3;
        m[7][i] = x + y >= 6;
      }
    return m;
  }();
  return masks;
}

// Noise (the speckle's squared variation coefficient) from the window itself: the mean of the
// five smallest var/mean^2 of the nine 3x3 sub-areas (starting every 2 pixels) that are complete
// and have a positive mean; 0 when none is.
double refined_lee_noise(const std::array<double, 49>& w, const std::array<bool, 49>& ok) {
  std::array<double, 9> normalised{};
  int n = 0;
  for (int sy = 0; sy < 3; ++sy)
    for (int sx = 0; sx < 3; ++sx) {
      double sum = 0;
      bool complete = true;
      for (int y = 2 * sy; y < 2 * sy + 3; ++y)
        for (int x = 2 * sx; x < 2 * sx + 3; ++x) {
          complete = complete && ok[y * 7 + x];
          sum += w[y * 7 + x];
        }
      if (!complete) continue;
      const double mean = sum / 9.0;
      double ss = 0;
      for (int y = 2 * sy; y < 2 * sy + 3; ++y)
        for (int x = 2 * sx; x < 2 * sx + 3; ++x)
          ss += (w[y * 7 + x] - mean) * (w[y * 7 + x] - mean);
      normalised[n++] = mean > 0 ? ss / 8.0 / (mean * mean) : 0.0;
    }
  if (n == 0) return 0.0;
  std::sort(normalised.begin(), normalised.begin() + n);
  const int used = std::min(5, n);
  double total = 0;
  for (int i = 0; i < used; ++i)
    total += normalised[i];
  return total / used;
}

double refined_lee(const Image& im, int64_t r, int64_t c, const SpeckleFilterSpec&) {
  std::array<double, 49> w{};
  std::array<bool, 49> ok{};
  int valid = 0;
  for (int dy = 0; dy < 7; ++dy)
    for (int dx = 0; dx < 7; ++dx) {
      const int64_t y = r + dy - 3, x = c + dx - 3;
      const bool inside = y >= 0 && y < im.height && x >= 0 && x < im.width && im.ok(y, x);
      ok[dy * 7 + dx] = inside;
      w[dy * 7 + dx] = inside ? im.at(y, x) : 0.0;
      valid += inside;
    }
  const double z = im.at(r, c);
  const double noise = refined_lee_noise(w, ok);
  // Incomplete window (image border, invalid neighbours): Lee's estimate over the valid pixels.
  if (valid < 49) {
    const WindowStats s = window_stats(im, r, c, 3);
    return lee_estimate(z, s.mean, s.variance, noise);
  }
  // Means of the 3x3 sub-areas, mean[row][col], each starting every 2 pixels.
  double m[3][3];
  for (int sy = 0; sy < 3; ++sy)
    for (int sx = 0; sx < 3; ++sx) {
      double sum = 0;
      for (int y = 2 * sy; y < 2 * sy + 3; ++y)
        for (int x = 2 * sx; x < 2 * sx + 3; ++x)
          sum += w[y * 7 + x];
      m[sy][sx] = sum / 9.0;
    }
  // Four gradients across the window: left-right, the diagonals, top-bottom; the steepest one
  // gives the edge orientation (the first on ties), the centre's side of it the mask.
  const double gradients[4] = {std::abs(m[1][0] - m[1][2]), std::abs(m[0][2] - m[2][0]),
                               std::abs(m[0][1] - m[2][1]), std::abs(m[0][0] - m[2][2])};
  int direction = 0;
  for (int i = 1; i < 4; ++i)
    if (gradients[i] > gradients[direction]) direction = i;
  // For each orientation: the two sub-areas on either side, and the mask of each side.
  struct Sides {
    double a, b;
    int mask_a, mask_b;
  };
  const Sides sides[4] = {{m[1][0], m[1][2], 4, 0},
                          {m[0][2], m[2][0], 1, 5},
                          {m[0][1], m[2][1], 2, 6},
                          {m[0][0], m[2][2], 3, 7}};
  const Sides& s = sides[direction];
  const int mask = std::abs(s.a - m[1][1]) < std::abs(m[1][1] - s.b) ? s.mask_a : s.mask_b;
  const auto& chosen = refined_lee_masks()[static_cast<size_t>(mask)];
  double sum = 0;
  for (int i = 0; i < 49; ++i)
    sum += chosen[i] ? w[i] : 0.0;
  const double mean = sum / 28.0;
  double ss = 0;
  for (int i = 0; i < 49; ++i)
    if (chosen[i]) ss += (w[i] - mean) * (w[i] - mean);
  return lee_estimate(z, mean, ss / 27.0, noise);
}

struct FilterEntry {
  SpeckleFilterInfo info;
  PixelFilter filter = nullptr;  // none: nullptr
};

const std::vector<FilterEntry>& filters() {
  static const std::vector<FilterEntry> entries = {
      {{"none", "no filtering", false, false}, nullptr},
      {{"boxcar", "mean of the window", true, false}, boxcar},
      {{"lee", "Lee 1980 local-statistics MMSE filter", true, true}, lee},
      {{"enhanced_lee", "Lopes et al. 1990 enhanced Lee (homogeneous / textured / point target)",
        true, true},
       enhanced_lee},
      {{"refined_lee", "ESA SNAP refined Lee: fixed 7x7, edge-aligned masks, noise from the window",
        false, false},
       refined_lee},
      {{"frost", "Frost et al. 1982 adaptive exponential kernel (damping 2)", true, false}, frost},
      {{"gamma_map", "Lopes et al. 1990 Gamma-MAP", true, true}, gamma_map},
  };
  return entries;
}

struct NamedEntry {
  std::string name;
  const FilterEntry* entry;
};

const FilterEntry& find_filter(const std::string& name, const std::string& where) {
  std::vector<NamedEntry> named;
  for (const auto& e : filters())
    named.push_back({e.info.name, &e});
  return *find_registered(named, name, "speckle filter", where).entry;
}

}  // namespace

const std::vector<SpeckleFilterInfo>& speckle_filter_registry() {
  static const auto infos = [] {
    std::vector<SpeckleFilterInfo> out;
    for (const auto& e : filters())
      out.push_back(e.info);
    return out;
  }();
  return infos;
}

std::vector<std::string> speckle_filter_names() {
  return registered_names(speckle_filter_registry());
}

void check_speckle_filter(const SpeckleFilterSpec& spec, const std::string& where) {
  const FilterEntry& entry = find_filter(spec.filter, where);
  if (entry.info.uses_window)
    require(spec.window >= 3 && spec.window <= 51 && spec.window % 2 == 1,
            where + ": window " + std::to_string(spec.window) + " of filter " + spec.filter +
                " must be odd and within 3..51");
  if (entry.info.uses_looks)
    require(std::isfinite(spec.looks) && spec.looks > 0,
            where + ": looks " + std::to_string(spec.looks) + " of filter " + spec.filter +
                " must be positive (the input's equivalent number of looks)");
}

std::string describe(const SpeckleFilterSpec& spec) {
  if (!spec.active()) return "none";
  const SpeckleFilterInfo* info = find_first(
      speckle_filter_registry(), [&](const SpeckleFilterInfo& i) { return i.name == spec.filter; });
  if (info == nullptr) return spec.filter;
  const int64_t side = info->uses_window ? spec.window : kRefinedLeeWindow;
  std::string text = spec.filter + " (" + std::to_string(side) + "x" + std::to_string(side);
  if (info->uses_looks) {
    char looks[32];
    std::snprintf(looks, sizeof looks, "%g", spec.looks);
    text += std::string(", ") + looks + " looks";
  }
  return text + ")";
}

FloatRaster filter_intensity(const FloatRaster& intensity, const Raster<uint8_t>& valid,
                             const SpeckleFilterSpec& spec, int threads) {
  check_speckle_filter(spec, "speckle filter");
  require(valid.empty() || (valid.height == intensity.height && valid.width == intensity.width),
          "speckle filter: the validity mask is not the size of the band");
  const FilterEntry& entry = find_filter(spec.filter, "speckle filter");
  FloatRaster out = intensity;
  if (entry.filter == nullptr || intensity.data.empty()) return out;
  Image im;
  im.values = intensity.data.data();
  im.height = intensity.height;
  im.width = intensity.width;
  im.valid.resize(intensity.data.size());
  for (size_t i = 0; i < im.valid.size(); ++i) {
    const float v = intensity.data[i];
    im.valid[i] = (valid.empty() || valid.data[i] != 0) && std::isfinite(v) && v >= 0;
  }
  const int workers = static_cast<int>(std::max<int64_t>(
      1,
      std::min<int64_t>(
          im.height, threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency()))));
  // Interleaved rows: neighbouring rows cost the same, so the threads finish together.
  const auto work = [&](int first) {
    for (int64_t r = first; r < im.height; r += workers)
      for (int64_t c = 0; c < im.width; ++c)
        if (im.ok(r, c))
          out.data[static_cast<size_t>(r * im.width + c)] =
              static_cast<float>(entry.filter(im, r, c, spec));
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < workers; ++t)
    pool.emplace_back(work, t);
  work(0);
  for (auto& thread : pool)
    thread.join();
  return out;
}

FloatRaster filter_db(const FloatRaster& db, const Raster<uint8_t>& valid,
                      const SpeckleFilterSpec& spec, int threads) {
  FloatRaster linear = db;
  for (auto& v : linear.data)
    v = std::isfinite(v) ? static_cast<float>(std::pow(10.0, v / 10.0))
                         : std::numeric_limits<float>::quiet_NaN();
  FloatRaster filtered = filter_intensity(linear, valid, spec, threads);
  FloatRaster out = db;
  for (size_t i = 0; i < out.data.size(); ++i) {
    const float v = filtered.data[i];
    // Pixels the filter left alone (invalid) keep their dB value, -inf and NaN included.
    if (std::isfinite(db.data[i]) && (valid.empty() || valid.data[i] != 0) && v > 0)
      out.data[i] = static_cast<float>(10.0 * std::log10(static_cast<double>(v)));
  }
  return out;
}

bool is_db_band(const Band& band) {
  return band.units == "dB";
}

std::optional<FloatRaster> filtered_band(const Scene& scene, const Band& band,
                                         const SpeckleFilterSpec& spec, int threads) {
  const bool backscatter =
      band.name.size() > 3 && band.name.compare(band.name.size() - 3, 3, "_db") == 0;
  require(!(spec.active() && backscatter && band.units == "zscore"),
          "scene '" + scene.id + "' band '" + band.name +
              "' holds z-scores, which a speckle filter cannot take (it filters linear "
              "intensity); read the scene in physical units (data.physical_units: true)");
  if (!is_db_band(band)) return std::nullopt;
  return filter_db(band.pixels, scene.valid, spec, threads);
}

int filter_scene_bands(Scene& scene, const SpeckleFilterSpec& spec, int threads) {
  check_speckle_filter(spec, "speckle filter");
  if (!spec.active()) return 0;
  int filtered = 0;
  for (auto& band : scene.bands) {
    std::optional<FloatRaster> pixels = filtered_band(scene, band, spec, threads);
    if (!pixels) continue;
    band.pixels = std::move(*pixels);
    ++filtered;
  }
  return filtered;
}

double equivalent_looks(const FloatRaster& intensity, const Raster<uint8_t>& mask) {
  long double sum = 0, sum_sq = 0;
  int64_t n = 0;
  for (size_t i = 0; i < intensity.data.size(); ++i) {
    if (!mask.empty() && mask.data[i] == 0) continue;
    const double v = intensity.data[i];
    if (!std::isfinite(v)) continue;
    sum += v;
    sum_sq += v * v;
    ++n;
  }
  if (n < 2) return std::nan("");
  const long double mean = sum / n;
  const long double variance = (sum_sq - sum * mean) / (n - 1);
  return variance > 0 ? static_cast<double>(mean * mean / variance)
                      : std::numeric_limits<double>::infinity();
}

double mean_ratio(const FloatRaster& original, const FloatRaster& filtered,
                  const Raster<uint8_t>& mask) {
  require(filtered.data.size() == original.data.size(), "mean_ratio: rasters of other sizes");
  long double sum = 0;
  int64_t n = 0;
  for (size_t i = 0; i < filtered.data.size(); ++i) {
    if (!mask.empty() && mask.data[i] == 0) continue;
    const double f = filtered.data[i], o = original.data[i];
    if (!(f > 0 && o > 0 && std::isfinite(f) && std::isfinite(o))) continue;
    sum += o / f;
    ++n;
  }
  return n > 0 ? static_cast<double>(sum / n) : std::nan("");
}

}  // namespace sarseg::io
