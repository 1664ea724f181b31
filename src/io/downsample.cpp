#include "sarseg/io/downsample.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

#include "sarseg/util/error.h"

namespace sarseg::io {

namespace {

int64_t blocks_along(int64_t pixels, int64_t factor) {
  return (pixels + factor - 1) / factor;
}

// The rows [r0, r1) and columns [c0, c1) of block (i, j).
struct Block {
  int64_t r0, r1, c0, c1;
  int64_t pixels() const { return (r1 - r0) * (c1 - c0); }
};

Block block_of(const Scene& scene, int64_t factor, int64_t i, int64_t j) {
  return {i * factor, std::min(scene.height, (i + 1) * factor), j * factor,
          std::min(scene.width, (j + 1) * factor)};
}

FloatRaster downsample_band(const Scene& scene, const Band& band, int64_t factor, int64_t h,
                            int64_t w) {
  // Multilooking: dB averaged as linear intensity (see the header).
  const bool decibels = band.units == "dB";
  FloatRaster out(h, w);
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) {
      const Block b = block_of(scene, factor, i, j);
      double sum = 0;
      int64_t count = 0;
      for (int64_t r = b.r0; r < b.r1; ++r)
        for (int64_t c = b.c0; c < b.c1; ++c) {
          const float value = band.pixels.at(r, c);
          if (!scene.is_valid(r, c) || !std::isfinite(value)) continue;
          sum += decibels ? std::pow(10.0, value / 10.0) : static_cast<double>(value);
          ++count;
        }
      double mean = std::numeric_limits<double>::quiet_NaN();
      if (count > 0) {
        mean = sum / static_cast<double>(count);
        if (decibels) mean = 10.0 * std::log10(mean);
      }
      out.at(i, j) = static_cast<float>(mean);
    }
  return out;
}

LabelRaster downsample_label(const Scene& scene, const LabelRaster& label, int64_t factor,
                             int64_t h, int64_t w) {
  LabelRaster out(h, w, kLabelFill);
  std::array<int64_t, 256> counts{};
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) {
      const Block b = block_of(scene, factor, i, j);
      counts.fill(0);
      int64_t labelled = 0;
      for (int64_t r = b.r0; r < b.r1; ++r)
        for (int64_t c = b.c0; c < b.c1; ++c) {
          const uint8_t value = label.at(r, c);
          if (value == kLabelFill) continue;
          ++counts[value];
          ++labelled;
        }
      if (labelled == 0 ||
          static_cast<double>(labelled) < kMinLabelledShare * static_cast<double>(b.pixels()))
        continue;
      int best = 0;  // the first maximum: ties go to the smaller value
      for (int v = 1; v < kLabelFill; ++v)
        if (counts[v] > counts[best]) best = v;
      out.at(i, j) = static_cast<uint8_t>(best);
    }
  return out;
}

Raster<uint8_t> downsample_valid(const Scene& scene, int64_t factor, int64_t h, int64_t w,
                                 double min_valid_share) {
  Raster<uint8_t> out(h, w, 0);
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) {
      const Block b = block_of(scene, factor, i, j);
      int64_t valid = 0;
      for (int64_t r = b.r0; r < b.r1; ++r)
        for (int64_t c = b.c0; c < b.c1; ++c)
          valid += scene.is_valid(r, c) ? 1 : 0;
      out.at(i, j) = valid > 0 && static_cast<double>(valid) >=
                                      min_valid_share * static_cast<double>(b.pixels());
    }
  return out;
}

// The two coarse cells around native coordinate x along an axis of `cells` cells, and the weight
// of the second.
struct AxisStencil {
  int64_t k0 = 0, k1 = 0;
  double t = 0;
};

AxisStencil stencil_at(int64_t x, int64_t factor, int64_t cells) {
  const double u = std::clamp(coarse_coordinate(x, factor), 0.0, static_cast<double>(cells - 1));
  AxisStencil s;
  s.k0 = static_cast<int64_t>(std::floor(u));
  s.k1 = std::min(s.k0 + 1, cells - 1);
  s.t = u - static_cast<double>(s.k0);
  return s;
}

// The usable coarse neighbours of one native pixel and their renormalised weights.
struct PixelStencil {
  std::array<size_t, 4> index{};
  std::array<double, 4> weight{};
  int count = 0;
};

PixelStencil pixel_stencil(const AxisStencil& rows, const AxisStencil& cols, int64_t row,
                           int64_t col, int64_t factor, int64_t coarse_width,
                           const Raster<uint8_t>& coarse_valid) {
  auto usable = [&](int64_t i, int64_t j) {
    return coarse_valid.empty() || coarse_valid.at(i, j) != 0;
  };
  PixelStencil s;
  double total = 0;
  const std::array<int64_t, 2> ri{rows.k0, rows.k1}, ci{cols.k0, cols.k1};
  const std::array<double, 2> rw{1 - rows.t, rows.t}, cw{1 - cols.t, cols.t};
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b) {
      const double weight = rw[static_cast<size_t>(a)] * cw[static_cast<size_t>(b)];
      const int64_t i = ri[static_cast<size_t>(a)], j = ci[static_cast<size_t>(b)];
      if (weight <= 0 || !usable(i, j)) continue;
      s.index[static_cast<size_t>(s.count)] = static_cast<size_t>(i * coarse_width + j);
      s.weight[static_cast<size_t>(s.count)] = weight;
      total += weight;
      ++s.count;
    }
  if (s.count == 0) {
    const int64_t i = row / factor, j = col / factor;  // the block holding the pixel
    if (usable(i, j)) {
      s.index[0] = static_cast<size_t>(i * coarse_width + j);
      s.weight[0] = 1;
      s.count = 1;
    }
    return s;
  }
  for (int k = 0; k < s.count; ++k)
    s.weight[static_cast<size_t>(k)] /= total;
  return s;
}

std::vector<AxisStencil> axis_stencils(int64_t pixels, int64_t factor, int64_t cells) {
  std::vector<AxisStencil> out;
  out.reserve(static_cast<size_t>(pixels));
  for (int64_t x = 0; x < pixels; ++x)
    out.push_back(stencil_at(x, factor, cells));
  return out;
}

void check_coarse_size(int64_t coarse_h, int64_t coarse_w, int64_t factor, int64_t height,
                       int64_t width) {
  require(factor >= 1 && coarse_h == blocks_along(height, factor) &&
              coarse_w == blocks_along(width, factor),
          "a " + std::to_string(coarse_h) + " x " + std::to_string(coarse_w) +
              " prediction is not the x" + std::to_string(factor) + " downsampling of a " +
              std::to_string(height) + " x " + std::to_string(width) + " scene");
}

}  // namespace

FloatRaster upsample_bilinear(const FloatRaster& coarse, const Raster<uint8_t>& coarse_valid,
                              int64_t factor, int64_t height, int64_t width) {
  check_coarse_size(coarse.height, coarse.width, factor, height, width);
  FloatRaster out(height, width, std::numeric_limits<float>::quiet_NaN());
  const auto rows = axis_stencils(height, factor, coarse.height);
  const auto cols = axis_stencils(width, factor, coarse.width);
  for (int64_t r = 0; r < height; ++r)
    for (int64_t c = 0; c < width; ++c) {
      const PixelStencil s =
          pixel_stencil(rows[static_cast<size_t>(r)], cols[static_cast<size_t>(c)], r, c, factor,
                        coarse.width, coarse_valid);
      if (s.count == 0) continue;
      double value = 0;
      for (int k = 0; k < s.count; ++k)
        value += s.weight[static_cast<size_t>(k)] * coarse.data[s.index[static_cast<size_t>(k)]];
      out.at(r, c) = static_cast<float>(value);
    }
  return out;
}

LabelPrediction upsample_prediction(const LabelPrediction& coarse,
                                    const Raster<uint8_t>& coarse_valid, int64_t factor,
                                    const Raster<uint8_t>& native_valid, bool probabilities) {
  const int64_t height = native_valid.height, width = native_valid.width;
  check_coarse_size(coarse.classes.height, coarse.classes.width, factor, height, width);
  LabelPrediction out;
  out.label = coarse.label;
  out.regression = coarse.regression;
  out.class_count = coarse.class_count;
  out.members = coarse.members;
  out.classes = LabelRaster(height, width, kLabelFill);
  const bool interpolate = !coarse.regression && !coarse.probabilities.empty();
  const size_t classes = coarse.probabilities.size();
  if (interpolate && probabilities)
    out.probabilities.assign(classes, LabelRaster(height, width, kLabelFill));
  const auto rows = axis_stencils(height, factor, coarse.classes.height);
  const auto cols = axis_stencils(width, factor, coarse.classes.width);
  const int64_t coarse_width = coarse.classes.width;
  std::vector<double> p(classes);
  for (int64_t r = 0; r < height; ++r)
    for (int64_t c = 0; c < width; ++c) {
      if (native_valid.at(r, c) == 0) continue;
      if (!interpolate) {  // the block's value
        out.classes.at(r, c) = coarse.classes.at(r / factor, c / factor);
        continue;
      }
      const PixelStencil s =
          pixel_stencil(rows[static_cast<size_t>(r)], cols[static_cast<size_t>(c)], r, c, factor,
                        coarse_width, coarse_valid);
      if (s.count == 0) continue;
      size_t best = 0;
      for (size_t k = 0; k < classes; ++k) {
        double value = 0;
        for (int n = 0; n < s.count; ++n)
          value += s.weight[static_cast<size_t>(n)] *
                   coarse.probabilities[k].data[s.index[static_cast<size_t>(n)]];
        p[k] = value;
        if (value > p[best]) best = k;
      }
      out.classes.at(r, c) = static_cast<uint8_t>(best);
      if (probabilities)
        for (size_t k = 0; k < classes; ++k)
          out.probabilities[k].at(r, c) =
              static_cast<uint8_t>(std::clamp(std::lround(p[k]), 0L, 254L));
    }
  auto upsample_masked = [&](const FloatRaster& raster) {
    if (raster.empty()) return FloatRaster{};
    FloatRaster up = upsample_bilinear(raster, coarse_valid, factor, height, width);
    for (size_t i = 0; i < up.data.size(); ++i)
      if (native_valid.data[i] == 0) up.data[i] = std::numeric_limits<float>::quiet_NaN();
    return up;
  };
  out.entropy = upsample_masked(coarse.entropy);
  out.mutual_information = upsample_masked(coarse.mutual_information);
  return out;
}

Scene downsample_scene(const Scene& scene, int64_t factor, double min_valid_share) {
  require(factor >= 1, "downsampling factor " + std::to_string(factor) +
                           " is not a whole number of at least 1 (1 = the native grid)");
  if (factor == 1) return scene;
  scene.check_consistent();
  Scene out;
  out.id = scene.id;
  out.source_path = scene.source_path;
  out.height = blocks_along(scene.height, factor);
  out.width = blocks_along(scene.width, factor);
  out.pixel_spacing_m = scene.pixel_spacing_m * static_cast<double>(factor);
  for (const auto& band : scene.bands)
    out.bands.push_back(
        {band.name, band.units, downsample_band(scene, band, factor, out.height, out.width)});
  for (const auto& [name, label] : scene.labels)
    out.labels[name] = downsample_label(scene, label, factor, out.height, out.width);
  if (!scene.valid.empty())
    out.valid = downsample_valid(scene, factor, out.height, out.width, min_valid_share);
  out.geo = scene.geo;
  if (out.geo) {
    // GDAL order: x0, pixel width, row rotation, y0, column rotation, pixel height.
    for (const int k : {1, 2, 4, 5})
      out.geo->transform[static_cast<size_t>(k)] *= static_cast<double>(factor);
  }
  out.acquisition_time = scene.acquisition_time;
  out.season = scene.season;
  out.ice_service = scene.ice_service;
  out.attributes = scene.attributes;
  out.aux = scene.aux;
  out.latitude_grid = scene.latitude_grid;
  out.longitude_grid = scene.longitude_grid;
  return out;
}

}  // namespace sarseg::io
