// AI4Arctic ready-to-train netCDF (libnetcdf). The schema is in docs/formats.md: SAR-grid
// variables on (sar_lines, sar_samples), 2 km AMSR2/ERA5 grids, a lat/lon subgrid, z-scored
// values with SAR fill 0 and chart fill 255.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "sarseg/io/scene.h"
#include "sarseg/io/scene_io.h"

namespace sarseg::io {

// True when this build has libnetcdf (SARSEG_WITH_NETCDF).
bool netcdf_supported();

// Reads a ready-to-train file. Bands hh_db, hv_db[, incidence_deg, distance_map] in z-scores
// (units "zscore") or, with options.physical_units, in dB / degrees. Pixels where either SAR
// channel holds the fill value (0) or NaN are invalid. UserError naming the file and the variable
// for anything that does not follow the schema.
Scene read_ai4arctic_netcdf(const std::filesystem::path& path,
                            const SceneReadOptions& options = {});
// The same from the bytes of a file held in memory (nc_open_mem); `name` stands for the file in
// error messages.
Scene read_ai4arctic_netcdf_memory(std::string_view bytes, const std::string& name,
                                   const SceneReadOptions& options = {});

// Writes `scene` in the same schema (netCDF-4, deflate). Bands in dB/deg are z-scored with the
// published statistics; "zscore" bands are written as they are. Invalid pixels get the fill 0
// (a valid pixel whose z-score is exactly 0 is nudged to 1e-6 so that it stays valid). Every label
// is written as uint8 with chart_fill_value = 255. Atomic.
void write_ai4arctic_netcdf(const Scene& scene, const std::filesystem::path& path);

// The AutoICE submission: one uint8 variable `{scene_name}_{chart}` per entry of `charts` (chart
// name -> class map), dims (sar_lines, sar_samples), zlib level 1, fill 255. Atomic. UserError
// when this build has no netCDF.
void write_autoice_submission(const std::filesystem::path& path, const std::string& scene_name,
                              const std::map<std::string, LabelRaster>& charts);

}  // namespace sarseg::io
