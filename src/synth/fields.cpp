#include "sarseg/synth/fields.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sarseg::synth {
namespace {

// One horizontal box pass over a row of `n` values, edges clamped (via a padded copy).
void box_row(float* line, int64_t n, int radius, std::vector<float>& padded) {
  padded.resize(static_cast<size_t>(n + 2 * radius + 1));
  for (int i = 0; i < radius; ++i) {
    padded[static_cast<size_t>(i)] = line[0];
    padded[static_cast<size_t>(n + radius + i)] = line[n - 1];
  }
  padded[static_cast<size_t>(n + 2 * radius)] = line[n - 1];
  std::copy(line, line + n, padded.begin() + radius);
  double sum = 0;
  for (int i = 0; i < 2 * radius + 1; ++i)
    sum += padded[static_cast<size_t>(i)];
  const double inv = 1.0 / (2 * radius + 1);
  for (int64_t i = 0; i < n; ++i) {
    line[i] = static_cast<float>(sum * inv);
    sum += padded[static_cast<size_t>(i + 2 * radius + 1)] - padded[static_cast<size_t>(i)];
  }
}

// One vertical box pass, row by row (cache friendly): a running sum per column.
void box_columns(std::vector<float>& image, int64_t height, int64_t width, int radius,
                 std::vector<double>& sums, std::vector<float>& out) {
  sums.assign(static_cast<size_t>(width), 0.0);
  out.resize(image.size());
  const auto row = [&](int64_t r) {
    return image.data() + std::clamp<int64_t>(r, 0, height - 1) * width;
  };
  for (int64_t r = -radius; r <= radius; ++r) {
    const float* src = row(r);
    for (int64_t c = 0; c < width; ++c)
      sums[static_cast<size_t>(c)] += src[c];
  }
  const double inv = 1.0 / (2 * radius + 1);
  for (int64_t r = 0; r < height; ++r) {
    float* dst = out.data() + r * width;
    const float* add = row(r + radius + 1);
    const float* remove = row(r - radius);
    for (int64_t c = 0; c < width; ++c) {
      double& sum = sums[static_cast<size_t>(c)];
      dst[c] = static_cast<float>(sum * inv);
      sum += static_cast<double>(add[c]) - remove[c];
    }
  }
  image.swap(out);
}

}  // namespace

void box_blur(std::vector<float>& image, int64_t height, int64_t width, int radius, int passes) {
  if (radius <= 0 || height <= 0 || width <= 0) return;
  std::vector<float> padded, out;
  std::vector<double> sums;
  for (int pass = 0; pass < passes; ++pass) {
    for (int64_t r = 0; r < height; ++r)
      box_row(image.data() + r * width, width, radius, padded);
    box_columns(image, height, width, radius, sums, out);
  }
}

io::FloatRaster gaussian_field(int64_t height, int64_t width, double correlation_px, Rng& rng) {
  io::FloatRaster field(height, width, 0.0f);
  const double step = std::max(1.0, std::floor(correlation_px / 2.0));
  const double sigma_coarse = correlation_px / step;  // kernel sigma on the coarse grid
  // Three box passes of width b have variance 3 (b^2 - 1) / 12 = sigma^2.
  const int radius = std::max(
      0, static_cast<int>(std::lround((std::sqrt(4 * sigma_coarse * sigma_coarse + 1) - 1) / 2)));
  const int64_t pad = 3 * radius + 2;
  const int64_t coarse_h = static_cast<int64_t>(std::ceil(height / step)) + 2 * pad + 2;
  const int64_t coarse_w = static_cast<int64_t>(std::ceil(width / step)) + 2 * pad + 2;
  std::vector<float> coarse(static_cast<size_t>(coarse_h * coarse_w));
  // Uniform white noise: after smoothing it is Gaussian by the central limit theorem, and it
  // needs no libm calls (cheaper, and identical wherever the engine is).
  for (auto& v : coarse)
    v = static_cast<float>(rng.uniform() - 0.5);
  box_blur(coarse, coarse_h, coarse_w, radius);

  // Bilinear upsampling, row weights precomputed per column.
  std::vector<int64_t> col_index(static_cast<size_t>(width));
  std::vector<float> col_frac(static_cast<size_t>(width));
  for (int64_t c = 0; c < width; ++c) {
    const double x = (c + 0.5) / step + static_cast<double>(pad);
    const double fx = std::floor(x);
    col_index[static_cast<size_t>(c)] = static_cast<int64_t>(fx);
    col_frac[static_cast<size_t>(c)] = static_cast<float>(x - fx);
  }
  double sum = 0, sum_sq = 0;
  for (int64_t r = 0; r < height; ++r) {
    const double y = (r + 0.5) / step + static_cast<double>(pad);
    const int64_t iy = static_cast<int64_t>(std::floor(y));
    const float fy = static_cast<float>(y - std::floor(y));
    const float* row0 = coarse.data() + iy * coarse_w;
    const float* row1 = row0 + coarse_w;
    float* out = field.data.data() + r * width;
    for (int64_t c = 0; c < width; ++c) {
      const int64_t ix = col_index[static_cast<size_t>(c)];
      const float fx = col_frac[static_cast<size_t>(c)];
      const float top = row0[ix] + fx * (row0[ix + 1] - row0[ix]);
      const float bottom = row1[ix] + fx * (row1[ix + 1] - row1[ix]);
      const float v = top + fy * (bottom - top);
      out[c] = v;
      sum += v;
      sum_sq += static_cast<double>(v) * v;
    }
  }
  const double n = static_cast<double>(height * width);
  const double mean = sum / n;
  const double variance = std::max(sum_sq / n - mean * mean, 1e-12);
  const float inv_std = static_cast<float>(1.0 / std::sqrt(variance));
  const float mean_f = static_cast<float>(mean);
  for (auto& v : field.data)
    v = (v - mean_f) * inv_std;
  return field;
}

namespace {

// 1-D squared distance transform of f (n samples) into d (Felzenszwalb & Huttenlocher).
void distance_1d(const float* f, float* d, int64_t n, std::vector<int64_t>& v,
                 std::vector<double>& z) {
  const double inf = std::numeric_limits<double>::infinity();
  const float finf = std::numeric_limits<float>::infinity();
  v.resize(static_cast<size_t>(n));
  z.resize(static_cast<size_t>(n + 1));
  int64_t k = -1;
  for (int64_t q = 0; q < n; ++q) {
    if (f[q] == finf) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -inf;
      z[1] = inf;
      continue;
    }
    double s = 0;
    for (;;) {
      const int64_t p = v[static_cast<size_t>(k)];
      s = ((f[q] + static_cast<double>(q * q)) - (f[p] + static_cast<double>(p * p))) /
          static_cast<double>(2 * (q - p));
      if (s <= z[static_cast<size_t>(k)] && k > 0) {
        --k;
        continue;
      }
      break;
    }
    if (s <= z[static_cast<size_t>(k)]) {  // k == 0 and the new parabola dominates
      v[0] = q;
      z[0] = -inf;
      z[1] = inf;
      continue;
    }
    ++k;
    v[static_cast<size_t>(k)] = q;
    z[static_cast<size_t>(k)] = s;
    z[static_cast<size_t>(k + 1)] = inf;
  }
  if (k < 0) {
    for (int64_t q = 0; q < n; ++q)
      d[q] = finf;
    return;
  }
  int64_t j = 0;
  for (int64_t q = 0; q < n; ++q) {
    while (z[static_cast<size_t>(j + 1)] < static_cast<double>(q))
      ++j;
    const int64_t p = v[static_cast<size_t>(j)];
    d[q] = static_cast<float>((q - p) * (q - p)) + f[p];
  }
}

}  // namespace

io::FloatRaster distance_to_mask(const io::LabelRaster& mask) {
  const int64_t h = mask.height, w = mask.width;
  const float inf = std::numeric_limits<float>::infinity();
  io::FloatRaster out(h, w, inf);
  for (size_t i = 0; i < mask.data.size(); ++i)
    if (mask.data[i] != 0) out.data[i] = 0.0f;
  std::vector<int64_t> v;
  std::vector<double> z;
  std::vector<float> column_in(static_cast<size_t>(h)), column_out(static_cast<size_t>(h)),
      row(static_cast<size_t>(w));
  for (int64_t c = 0; c < w; ++c) {
    for (int64_t r = 0; r < h; ++r)
      column_in[static_cast<size_t>(r)] = out.data[static_cast<size_t>(r * w + c)];
    distance_1d(column_in.data(), column_out.data(), h, v, z);
    for (int64_t r = 0; r < h; ++r)
      out.data[static_cast<size_t>(r * w + c)] = column_out[static_cast<size_t>(r)];
  }
  for (int64_t r = 0; r < h; ++r) {
    float* line = out.data.data() + r * w;
    std::copy(line, line + w, row.begin());
    distance_1d(row.data(), line, w, v, z);
  }
  for (auto& d : out.data)
    d = d == inf ? inf : std::sqrt(d);
  return out;
}

}  // namespace sarseg::synth
