#include "sarseg/io/derived_bands.h"

#include <algorithm>
#include <cmath>

namespace sarseg::io {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Where one SAR pixel centre falls between two grid points: the lower point, the upper one
// (equal at the edges) and the weight of the upper one.
struct Tap {
  int64_t lower = 0, upper = 0;
  double weight = 0.0;
};

// Taps for every SAR pixel 0..pixels-1 at grid coordinate coordinate(pixel), clamped to the
// grid's points 0..points-1.
template <typename Coordinate>
std::vector<Tap> taps_along(int64_t pixels, int64_t points, Coordinate coordinate) {
  std::vector<Tap> taps(static_cast<size_t>(pixels));
  const double last = static_cast<double>(points - 1);
  for (int64_t p = 0; p < pixels; ++p) {
    const double u = std::clamp(coordinate(static_cast<double>(p)), 0.0, last);
    Tap& tap = taps[static_cast<size_t>(p)];
    tap.lower = std::min(static_cast<int64_t>(std::floor(u)), points - 1);
    tap.upper = std::min(tap.lower + 1, points - 1);
    tap.weight = tap.upper == tap.lower ? 0.0 : u - static_cast<double>(tap.lower);
  }
  return taps;
}

// Sum of value * weight over the four corners, skipping zero weights (so that a NaN corner only
// matters where it weighs). `value(row, col)` gives a corner's value.
template <typename Value>
double blend(const Tap& row, const Tap& col, Value value) {
  const double weights[4] = {(1 - row.weight) * (1 - col.weight), (1 - row.weight) * col.weight,
                             row.weight * (1 - col.weight), row.weight * col.weight};
  const int64_t rows[4] = {row.lower, row.lower, row.upper, row.upper};
  const int64_t cols[4] = {col.lower, col.upper, col.lower, col.upper};
  double sum = 0.0;
  for (int k = 0; k < 4; ++k)
    if (weights[k] != 0.0) sum += weights[k] * value(rows[k], cols[k]);
  return sum;
}

double wrap_longitude(double lon) {
  double wrapped = std::fmod(lon + 180.0, 360.0);
  if (wrapped < 0) wrapped += 360.0;
  return wrapped - 180.0;
}

FloatRaster constant_raster(int64_t height, int64_t width, double value) {
  return FloatRaster(height, width, static_cast<float>(value));
}

void zscore(FloatRaster& raster, const MeanStd& stats) {
  for (float& v : raster.data)
    v = static_cast<float>((v - stats.mean) / stats.std);
}

const AuxGrid* find_aux(const Scene& scene, std::string_view name) {
  for (const auto& grid : scene.aux)
    if (grid.name == name && !grid.pixels.empty()) return &grid;
  return nullptr;
}

// The band `name` derived from `scene`, or nullopt when the scene has nothing to derive it from.
std::optional<Band> derive_band(const Scene& scene, const std::string& name) {
  const int64_t h = scene.height, w = scene.width;
  if (const AuxGrid* grid = find_aux(scene, name)) {
    Band band{
        name, "zscore",
        aux_grid_on_sar_grid(grid->pixels, h, w,
                             aux_cell_pixels_along(h, grid->pixels.height, scene.pixel_spacing_m),
                             aux_cell_pixels_along(w, grid->pixels.width, scene.pixel_spacing_m))};
    if (grid->units != "zscore") {
      // Physical units: z-scored with the published statistics; a grid without any keeps its
      // units (training's own normalisation then scales it).
      if (const auto stats = ai4arctic_band_stats(name))
        zscore(band.pixels, *stats);
      else
        band.units = grid->units;
    }
    return band;
  }
  if (name == kMonthSinBand || name == kMonthCosBand) {
    const auto month = month_of_time(scene.acquisition_time);
    if (!month) return std::nullopt;
    const double value =
        name == kMonthSinBand ? month_sin_encoding(*month) : month_cos_encoding(*month);
    return Band{name, "zscore", constant_raster(h, w, value)};
  }
  if (name == kLatitudeBand || name == kLongitudeBand) {
    const bool longitude = name == kLongitudeBand;
    const FloatRaster& grid = longitude ? scene.longitude_grid : scene.latitude_grid;
    if (grid.empty()) return std::nullopt;
    Band band{name, "zscore", subgrid_on_sar_grid(grid, h, w, longitude)};
    zscore(band.pixels, longitude ? longitude_statistics() : latitude_statistics());
    return band;
  }
  return std::nullopt;
}

}  // namespace

MeanStd latitude_statistics() {
  return {69.1253, 7.0318};
}
MeanStd longitude_statistics() {
  return {-56.3897, 31.3294};
}

double nominal_aux_cell_pixels(double pixel_spacing_m) {
  return 2000.0 / pixel_spacing_m;
}

double aux_cell_pixels_along(int64_t sar_pixels, int64_t cells, double pixel_spacing_m) {
  if (cells <= 0 || sar_pixels <= 0) return 1.0;
  const double nominal = nominal_aux_cell_pixels(pixel_spacing_m);
  // A small tolerance so that 2000 / 80 * 200 = 5000 pixels counts as exactly 200 cells.
  if (std::isfinite(nominal) && nominal > 0 &&
      static_cast<int64_t>(std::ceil(static_cast<double>(sar_pixels) / nominal - 1e-9)) == cells)
    return nominal;
  return static_cast<double>(sar_pixels) / static_cast<double>(cells);
}

FloatRaster aux_grid_on_sar_grid(const FloatRaster& grid, int64_t height, int64_t width,
                                 double row_cell_pixels, double col_cell_pixels) {
  FloatRaster out(height, width);
  if (grid.empty() || height <= 0 || width <= 0) return out;
  // Inverse of aux_cell_centre: SAR coordinate x lies at cell coordinate (x + 0.5) / f - 0.5.
  const auto rows =
      taps_along(height, grid.height, [&](double r) { return (r + 0.5) / row_cell_pixels - 0.5; });
  const auto cols =
      taps_along(width, grid.width, [&](double c) { return (c + 0.5) / col_cell_pixels - 0.5; });
  for (int64_t r = 0; r < height; ++r)
    for (int64_t c = 0; c < width; ++c)
      out.at(r, c) = static_cast<float>(
          blend(rows[static_cast<size_t>(r)], cols[static_cast<size_t>(c)],
                [&](int64_t i, int64_t j) { return static_cast<double>(grid.at(i, j)); }));
  return out;
}

FloatRaster subgrid_on_sar_grid(const FloatRaster& grid, int64_t height, int64_t width,
                                bool longitude) {
  FloatRaster out(height, width);
  if (grid.empty() || height <= 0 || width <= 0) return out;
  // Point i sits at pixel i * (pixels - 1) / (points - 1).
  const auto coordinate = [](int64_t pixels, int64_t points) {
    const double scale = pixels > 1 && points > 1
                             ? static_cast<double>(points - 1) / static_cast<double>(pixels - 1)
                             : 0.0;
    return [scale](double x) { return x * scale; };
  };
  const auto rows = taps_along(height, grid.height, coordinate(height, grid.height));
  const auto cols = taps_along(width, grid.width, coordinate(width, grid.width));
  for (int64_t r = 0; r < height; ++r) {
    for (int64_t c = 0; c < width; ++c) {
      const Tap& row = rows[static_cast<size_t>(r)];
      const Tap& col = cols[static_cast<size_t>(c)];
      const double reference = grid.at(row.lower, col.lower);
      double value = blend(row, col, [&](int64_t i, int64_t j) {
        const double v = grid.at(i, j);
        if (!longitude) return v;
        // The corner's longitude on the side of the reference corner (across the dateline).
        return reference + wrap_longitude(v - reference);
      });
      if (longitude) value = wrap_longitude(value);
      out.at(r, c) = static_cast<float>(value);
    }
  }
  return out;
}

std::optional<int> month_of_time(std::string_view iso_time) {
  if (iso_time.size() < 7 || iso_time[4] != '-') return std::nullopt;
  const char tens = iso_time[5], ones = iso_time[6];
  if (tens < '0' || tens > '9' || ones < '0' || ones > '9') return std::nullopt;
  const int month = (tens - '0') * 10 + (ones - '0');
  if (month < 1 || month > 12) return std::nullopt;
  return month;
}

double month_sin_encoding(int month) {
  return std::sqrt(2.0) * std::sin(2.0 * kPi * (month - 1) / 12.0);
}
double month_cos_encoding(int month) {
  return std::sqrt(2.0) * std::cos(2.0 * kPi * (month - 1) / 12.0);
}

bool is_derived_band_name(std::string_view name) {
  if (name == kMonthSinBand || name == kMonthCosBand || name == kLatitudeBand ||
      name == kLongitudeBand)
    return true;
  if (name.rfind("btemp_", 0) == 0) return true;
  for (const char* era5 : {"u10m_rotated", "v10m_rotated", "t2m", "skt", "tcwv", "tclw"})
    if (name == era5) return true;
  return false;
}

std::vector<std::string> add_derived_bands(Scene& scene, const std::vector<std::string>& names) {
  std::vector<std::string> added;
  for (const auto& name : names) {
    if (scene.find_band(name) != nullptr) continue;
    if (auto band = derive_band(scene, name)) {
      scene.bands.push_back(std::move(*band));
      added.push_back(name);
    }
  }
  return added;
}

}  // namespace sarseg::io
