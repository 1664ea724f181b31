// The in-memory scene: every reader produces one, every writer, sampler and evaluator takes one.
//
// Bands are float rasters in row-major order with a name and a unit. Canonical band names:
//   hh_db, hv_db          backscatter in dB (unit "dB"), or z-scored ("zscore") as AI4Arctic stores
//   it incidence_deg         incidence angle (unit "deg" or "zscore") distance_map AI4Arctic
//   distance-to-land zones
// Labels are uint8 rasters; 255 is the fill value (no label). Canonical label names: SIC, SOD,
// FLOE (AI4Arctic charts) or any task's class map (e.g. "classes").
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sarseg::io {

inline constexpr uint8_t kLabelFill = 255;

enum class Season { kUnknown, kFreezeUp, kWinter, kMelt };

std::string to_string(Season season);
// Accepts freeze-up, freezeup, freeze, winter, melt, unknown (UserError otherwise).
Season parse_season(std::string_view text);
// Season from the acquisition date and latitude (sign gives the hemisphere), following the
// AI4Arctic histogram convention for the north: winter Dec-Apr, melt May-Aug, freeze-up Sep-Nov;
// shifted by six months in the south.
Season season_from_date(int month, double latitude_deg);

template <typename T>
struct Raster {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<T> data;  // row-major, height * width

  Raster() = default;
  Raster(int64_t h, int64_t w, T fill = T{})
      : height(h), width(w), data(static_cast<size_t>(h * w), fill) {}
  T& at(int64_t row, int64_t col) { return data[static_cast<size_t>(row * width + col)]; }
  const T& at(int64_t row, int64_t col) const {
    return data[static_cast<size_t>(row * width + col)];
  }
  bool empty() const { return data.empty(); }
};

using FloatRaster = Raster<float>;
using LabelRaster = Raster<uint8_t>;

struct Band {
  std::string name;   // e.g. "hh_db"
  std::string units;  // "dB", "deg", "zscore", ...
  FloatRaster pixels;
};

// GDAL-order affine transform plus the CRS as WKT.
struct GeoReference {
  std::array<double, 6> transform{0, 1, 0, 0, 0, -1};
  std::string crs_wkt;
};

// A coarse grid (AI4Arctic 2 km AMSR2/ERA5 variables), kept as read. Ready-to-train files hold
// z-scores with the published statistics (units "zscore"); the simulator makes them in physical
// units ("K", "m/s", ...), which the netCDF writer z-scores.
struct AuxGrid {
  std::string name;
  FloatRaster pixels;
  std::string units = "zscore";
};

struct Scene {
  std::string id;           // e.g. "20180124T194759_dmi"
  std::string source_path;  // file it came from, if any
  int64_t height = 0;
  int64_t width = 0;
  double pixel_spacing_m = 80.0;

  std::vector<Band> bands;
  std::map<std::string, LabelRaster> labels;
  Raster<uint8_t> valid;  // 1 where the SAR data is valid, 0 at fill/NaN; empty = all valid

  std::optional<GeoReference> geo;
  std::string acquisition_time;  // ISO 8601, "" when unknown
  Season season = Season::kUnknown;
  std::string ice_service;                        // "dmi", "cis", "synthetic", ...
  std::map<std::string, std::string> attributes;  // other global attributes, kept for writing

  std::vector<AuxGrid> aux;  // 2 km grids
  // Geolocation subgrid (AI4Arctic sar_grid2d_*), empty when absent.
  FloatRaster latitude_grid;
  FloatRaster longitude_grid;

  // Band by name, or nullptr.
  const Band* find_band(std::string_view name) const;
  Band* find_band(std::string_view name);
  // Band by name; UserError naming the scene and the bands it has when missing.
  const Band& band(std::string_view name) const;
  // Names of the bands in order.
  std::vector<std::string> band_names() const;
  bool is_valid(int64_t row, int64_t col) const {
    return valid.empty() || valid.data[static_cast<size_t>(row * width + col)] != 0;
  }
  // Checks every raster has the scene's size (UserError otherwise).
  void check_consistent() const;
};

}  // namespace sarseg::io
