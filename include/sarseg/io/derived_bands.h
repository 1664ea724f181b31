// SAR-grid bands derived from what a scene carries besides its bands: the AI4Arctic 2 km AMSR2 /
// ERA5 grids (Scene::aux), the acquisition time and the lat/lon subgrid. Training, evaluation and
// prediction name them in data.bands like any band; reading adds them (SceneReadOptions::
// derived_bands).
//
//   io::add_derived_bands(scene, {"hh_db", "hv_db", "btemp_18_7h", "month_sin", "latitude"});
//
// Every derived band is a z-score (units "zscore"): 2 km grids stored as z-scores stay so, grids in
// physical units are z-scored with the published AI4Arctic statistics; latitude and longitude are
// z-scored with MMSeaIce's published statistics; the month encodings are sin/cos of the month's
// phase scaled by sqrt(2), which is the z-score over a year of uniformly spread months. The
// geometry is in docs/formats.md ("Derived bands").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sarseg/io/ai4arctic.h"
#include "sarseg/io/scene.h"

namespace sarseg::io {

inline constexpr const char* kMonthSinBand = "month_sin";
inline constexpr const char* kMonthCosBand = "month_cos";
inline constexpr const char* kLatitudeBand = "latitude";
inline constexpr const char* kLongitudeBand = "longitude";

// MMSeaIce's published position statistics (configs/_base_/base.py): latitude 69.1253 +- 7.0318,
// longitude -56.3897 +- 31.3294 degrees.
MeanStd latitude_statistics();
MeanStd longitude_statistics();

// Nominal 2 km cell side in SAR pixels at this pixel spacing: 2000 m / spacing (25 at 80 m).
double nominal_aux_cell_pixels(double pixel_spacing_m);
// SAR pixels per 2 km cell along an axis of `sar_pixels` pixels covered by `cells` cells: the
// nominal side when the grid has ceil(sar_pixels / nominal) cells (the last one ragged, as the
// ready-to-train files and `sarseg synth` have it), else sar_pixels / cells (the cells split the
// axis evenly; the side may be non-integer).
double aux_cell_pixels_along(int64_t sar_pixels, int64_t cells, double pixel_spacing_m);
// SAR coordinate (pixel centres at integers 0, 1, ...) of the centre of cell k when cell k covers
// SAR pixels [k * f, (k + 1) * f): (k + 0.5) * f - 0.5. The starter kit takes k * f (the sub-cell
// offset dropped).
inline double aux_cell_centre(double k, double cell_pixels) {
  return (k + 0.5) * cell_pixels - 0.5;
}

// `grid` sampled bilinearly at every pixel centre of a height x width SAR grid, its cell centres
// at aux_cell_centre (row and column cell sides given); beyond the outermost centres the edge
// value (clamped). NaN cells give NaN where they weigh.
FloatRaster aux_grid_on_sar_grid(const FloatRaster& grid, int64_t height, int64_t width,
                                 double row_cell_pixels, double col_cell_pixels);
// The lat/lon subgrid sampled bilinearly at every SAR pixel centre; its points evenly spaced from
// the first to the last pixel centre in both directions (AI4Arctic's sar_grid2d_*, the
// Sentinel-1 tie points, `sarseg synth`). With `longitude`, the corners are unwrapped across
// +-180 degrees before interpolating and the result wrapped back into [-180, 180).
FloatRaster subgrid_on_sar_grid(const FloatRaster& grid, int64_t height, int64_t width,
                                bool longitude);

// Month 1..12 of an ISO 8601 time ("2020-11-02T21:45:50Z"), nullopt when it has none.
std::optional<int> month_of_time(std::string_view iso_time);
// sqrt(2) * sin / cos of 2 pi (month - 1) / 12.
double month_sin_encoding(int month);
double month_cos_encoding(int month);

// True for the names this module can derive from some scene: the month and position encodings
// and the AI4Arctic 2 km variables (btemp_*, u10m_rotated, v10m_rotated, t2m, skt, tcwv, tclw).
// A name in a scene's `aux` is derivable for that scene whatever it is called.
bool is_derived_band_name(std::string_view name);

// Adds to `scene` every name of `names` that is not already a band and can be derived from it:
// a grid of that name in scene.aux, month_sin/month_cos from acquisition_time, latitude/longitude
// from the subgrid. Returns the names added; the others stay missing (so that data::check_scenes
// refuses them naming the scene and the band). Derived bands do not change scene.valid.
std::vector<std::string> add_derived_bands(Scene& scene, const std::vector<std::string>& names);

}  // namespace sarseg::io
