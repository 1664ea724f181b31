// GeoTIFF stacks and label rasters (GDAL). A scene is a float stack (one band per Scene band,
// band description = band name, nodata NaN where invalid) plus an optional sibling
// <stem>_labels.tif (one uint8 band per label, description = label name, nodata 255).
// Scene metadata travels as dataset metadata items (SARSEG_SEASON, ACQUISITION_TIME, SCENE_ID,
// ICE_SERVICE, PIXEL_SPACING).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sarseg/io/scene.h"
#include "sarseg/io/scene_io.h"

namespace sarseg::io {

// True when this build has GDAL (SARSEG_WITH_GDAL).
bool geotiff_supported();

// x.tif -> x_labels.tif (same folder).
std::filesystem::path geotiff_labels_path(const std::filesystem::path& stack_path);

// Reads a stack (bands by description or 1-based index, see SceneReadOptions) and its labels.
// Band names: canonical names from descriptions (HH/Sigma0_HH_db -> hh_db, HV -> hv_db,
// incidence/projectedLocalIncidenceAngle -> incidence_deg); without descriptions a 2- or 3-band
// stack is taken as HH, HV[, incidence]. NaN, +-inf and nodata are invalid; invalid pixels hold the
// band's mean over valid pixels so that no NaN reaches a model.
Scene read_geotiff_scene(const std::filesystem::path& path, const SceneReadOptions& options = {});

// Writes the stack and, when the scene has labels, the sibling label raster (both atomic).
// A stale sibling label file from an earlier write is removed when the scene has no labels.
void write_geotiff_scene(const Scene& scene, const std::filesystem::path& path);

// How a written raster is laid out: a tiled, compressed GeoTIFF, or a Cloud-Optimised GeoTIFF
// (GDAL's COG driver: 512 x 512 tiles, DEFLATE, overviews down to one tile computed with
// `overview_resampling`, the IFDs ahead of the image data: LAYOUT=COG).
struct RasterLayout {
  bool cloud_optimised = false;
  std::string overview_resampling = "NEAREST";  // GDAL names: NEAREST, MODE, AVERAGE, ...
};

// Float32 raster, one band per entry (description = name, unit type = units), nodata NaN;
// pixels where `valid` is 0 are written as NaN. Atomic.
void write_float_geotiff(const std::filesystem::path& path, const std::vector<Band>& bands,
                         const std::optional<GeoReference>& geo, const Raster<uint8_t>& valid = {},
                         const std::map<std::string, std::string>& metadata = {},
                         const RasterLayout& layout = {});

// Uint8 class rasters, one band per (name, raster), nodata 255. Atomic.
void write_label_geotiff(const std::filesystem::path& path,
                         const std::vector<std::pair<std::string, LabelRaster>>& labels,
                         const std::optional<GeoReference>& geo,
                         const std::map<std::string, std::string>& metadata = {},
                         const RasterLayout& layout = {});

struct LabelRasterFile {
  std::vector<std::pair<std::string, LabelRaster>> labels;  // in band order
  std::optional<GeoReference> geo;
};
// Reads every band of a label raster (names from descriptions; a single unnamed band is
// "classes", three unnamed bands SIC, SOD, FLOE). Nodata and values outside 0..255 become 255.
LabelRasterFile read_label_geotiff(const std::filesystem::path& path);

// Nearest-neighbour resampling of a label raster onto another grid (reprojecting pixel centres
// when the CRSs differ); pixels that fall outside the source are 255.
LabelRaster resample_labels_nearest(const LabelRaster& source, const GeoReference& source_geo,
                                    int64_t height, int64_t width, const GeoReference& target_geo);

// True when two georeferences describe the same grid (transform within 1e-6 of a pixel, same CRS).
bool same_grid(const GeoReference& a, const GeoReference& b);

}  // namespace sarseg::io
