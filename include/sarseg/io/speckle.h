// Speckle filters on linear intensity, and scene bands in dB filtered through them.
//
//   io::SpeckleFilterSpec spec{"refined_lee"};             // or {"lee", 5, 4.0}
//   io::FloatRaster out = io::filter_intensity(intensity, scene.valid, spec);
//   io::filter_scene_bands(scene, spec);   // every dB band: to linear, filtered, back to dB
//
// Filters (docs/speckle.md has the formulas): none, boxcar, lee, enhanced_lee, refined_lee (ESA
// SNAP's RefinedLee: fixed 7x7 window, edge-aligned masks, noise estimated from the window),
// frost, gamma_map. Window statistics are taken over the valid pixels of the window clipped to the
// image (no padding); variances are sample variances (n - 1), as SNAP computes them.
//
// Invalid pixels: a pixel is valid when the mask (if given) is set and its value is finite and not
// negative. Invalid pixels never enter a neighbour's statistics and pass through unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sarseg/io/scene.h"

namespace sarseg::io {

struct SpeckleFilterSpec {
  std::string filter = "none";
  int64_t window = 7;  // odd side of the square window in pixels (refined_lee: always 7)
  double looks = 16;   // equivalent number of looks of the input (lee, enhanced_lee, gamma_map)
  bool operator==(const SpeckleFilterSpec& other) const {
    return filter == other.filter && window == other.window && looks == other.looks;
  }
  bool operator!=(const SpeckleFilterSpec& other) const { return !(*this == other); }
  bool active() const { return filter != "none"; }
};

struct SpeckleFilterInfo {
  std::string name;
  std::string description;
  bool uses_window = true;  // false: a fixed window (refined_lee)
  bool uses_looks = true;   // false: noise estimated from the data or not needed
};

// The filters, in the order `--help` lists them.
const std::vector<SpeckleFilterInfo>& speckle_filter_registry();
std::vector<std::string> speckle_filter_names();
// UserError naming `where` for an unknown filter (listing the names), an even or out-of-range
// window (3..51) or looks <= 0.
void check_speckle_filter(const SpeckleFilterSpec& spec, const std::string& where);
// "refined_lee (7x7)", "lee (5x5, 4 looks)", "none".
std::string describe(const SpeckleFilterSpec& spec);

// The filtered intensity. `valid` empty = every finite, non-negative pixel is valid. Rows are
// spread over `threads` threads (0 = the machine's cores). UserError as check_speckle_filter.
FloatRaster filter_intensity(const FloatRaster& intensity, const Raster<uint8_t>& valid,
                             const SpeckleFilterSpec& spec, int threads = 0);

// A band in dB filtered in linear intensity (10^(dB/10)) and written back in dB.
FloatRaster filter_db(const FloatRaster& db, const Raster<uint8_t>& valid,
                      const SpeckleFilterSpec& spec, int threads = 0);

// True for a band the filters apply to: its values are backscatter in dB.
bool is_db_band(const Band& band);

// The band filtered when it is a dB band, nullopt for other bands (incidence, distance, ...).
// UserError naming the scene when a backscatter band (*_db) holds z-scores, which cannot be
// filtered (read netCDF in physical units).
std::optional<FloatRaster> filtered_band(const Scene& scene, const Band& band,
                                         const SpeckleFilterSpec& spec, int threads = 0);

// Filters every dB band of `scene` in place; returns how many it filtered. UserError naming the
// scene when a backscatter band (*_db) holds z-scores, which cannot be filtered (read netCDF in
// physical units).
int filter_scene_bands(Scene& scene, const SpeckleFilterSpec& spec, int threads = 0);

// ---- measures of a filter (bench speckle, tests) -------------------------------------------

// Equivalent number of looks mean^2 / variance of the pixels where `mask` is set (all pixels
// when empty); NaN with fewer than 2.
double equivalent_looks(const FloatRaster& intensity, const Raster<uint8_t>& mask);
// Mean of the ratio image original / filtered (the speckle a filter removed; 1 for a filter that
// keeps the mean) over the pixels where `mask` is set and both are positive.
double mean_ratio(const FloatRaster& original, const FloatRaster& filtered,
                  const Raster<uint8_t>& mask);

}  // namespace sarseg::io
