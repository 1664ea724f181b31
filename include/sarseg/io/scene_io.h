// Reading and writing scenes in any supported format, chosen by file name.
//   *.nc                 AI4Arctic ready-to-train netCDF (io/netcdf.h)
//   *.tif / *.tiff       GeoTIFF stack (io/geotiff.h); labels from a sibling *_labels.tif when
//                        present or from SceneReadOptions::labels_path
//   *.SAFE, *.zip        Sentinel-1 GRD product, imported in memory (io/sentinel1.h; read only)
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sarseg/io/scene.h"
#include "sarseg/io/sentinel1.h"

namespace sarseg::io {

struct SceneReadOptions {
  // netCDF: convert stored z-scores back to dB / degrees.
  bool physical_units = false;
  // GeoTIFF: bands to take, by description or 1-based index ("" = all, in file order).
  std::vector<std::string> bands;
  // GeoTIFF: bands hold linear sigma0; convert to dB with this floor.
  bool linear_to_db = false;
  double db_floor = -40.0;
  // GeoTIFF: label raster path (empty = look for a sibling *_labels.tif).
  std::filesystem::path labels_path;
  // GeoTIFF: resample a label raster on another grid (nearest) instead of refusing it.
  bool resample_labels = false;
  // Season override ("" = derive from the date and latitude).
  std::string season;
  // Bands to add after reading when the scene lacks them and can derive them (io/derived_bands.h:
  // 2 km AMSR2/ERA5 grids, month and position encodings); training sets data.bands. Names it
  // cannot derive stay missing.
  std::vector<std::string> derived_bands;
  // Sentinel-1 products (.SAFE folder or .zip): calibration, noise removal, spacing, CRS.
  s1::ImportOptions product;
};

enum class SceneFormat { kNetcdf, kGeoTiff };

// A scene file, or a Sentinel-1 product (s1::is_product_path) imported with options.product.
Scene read_scene(const std::filesystem::path& path, const SceneReadOptions& options = {});
// Writes `scene` to `path` (format from the extension). Atomic.
void write_scene(const Scene& scene, const std::filesystem::path& path);
// True when this build can read the file's format.
bool is_scene_file(const std::filesystem::path& path);

}  // namespace sarseg::io
