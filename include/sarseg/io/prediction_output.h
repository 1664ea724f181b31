// Prediction outputs: what `sarseg predict` writes for one scene (no model, no torch).
//
//   {id}_classes.tif                 uint8 class map, one band per head (description = the head's
//                                    label), nodata 255, the input's CRS and geotransform
//   {id}_{label}_probabilities.tif   with probabilities: one uint8 band per class, p * 254
//                                    (metadata PROBABILITY_SCALE = 1/254), nodata 255
//   {id}_{label}_uncertainty.tif     heads with uncertainty (ensembles, Monte Carlo dropout):
//                                    float32 bands predictive_entropy and mutual_information
//                                    (nats), nodata NaN
//   (the GeoTIFFs are Cloud-Optimised: GDAL's COG driver, 512-px tiles, DEFLATE, overviews:
//    nearest for class maps, average for probabilities and uncertainty)
//   {id}_classes.qml                 with qgis_style: QGIS style of band 1 (QGIS loads it with the
//   {id}_classes_{label}.qml         map), and of each further head's band (io/gis_products.h)
//   {id}_vectors.gpkg                with vectors: class polygons per head and the ice edge
//   {id}_quicklook.png               SAR false colour beside each head's coloured map, with legends
//   {id}_submission.nc               for AI4Arctic netCDF input whose heads include SIC, SOD and
//                                    FLOE: the AutoICE submission (uint8 variables
//                                    `{first 19 characters of the scene id}_{SIC|SOD|FLOE}`, zlib)
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sarseg/io/scene.h"

namespace sarseg::io {

// A predicted map of one scene label.
struct LabelPrediction {
  std::string label;  // scene label the map predicts, e.g. "SOD"
  bool regression = false;
  int64_t class_count = 0;  // classes of the map (0 = not known: the largest value present + 1)
  // Class map, 255 where the input is invalid (regression: the value rounded and clamped).
  LabelRaster classes;
  // With probabilities requested (classification): one raster per class, p scaled to 0..254
  // (p = value / 254), 255 where the input is invalid.
  std::vector<LabelRaster> probabilities;
  // With uncertainty requested (classification): predictive entropy of the (mean) probabilities
  // and the mutual information between members (ensemble or Monte Carlo dropout passes), in
  // nats, NaN where the input is invalid; `members` models or passes were averaged.
  FloatRaster entropy;
  FloatRaster mutual_information;
  int64_t members = 1;
};

struct PredictOutputOptions {
  bool probabilities = false;
  bool quicklook = true;
  int quicklook_max_side = 1024;  // longest side of each map panel in the PNG
  bool autoice = true;            // write the submission netCDF when the scene and heads allow it
  bool qgis_style = false;        // QGIS layer style (.qml) of each head's class band
  bool vectors = false;           // GeoPackage: class polygons and the ice edge
};

// Output files of `scene` in `out_dir`, in the order write_prediction writes them.
std::vector<std::filesystem::path> prediction_paths(const Scene& scene,
                                                    const std::vector<LabelPrediction>& heads,
                                                    const std::filesystem::path& out_dir,
                                                    const PredictOutputOptions& options);

// Writes the outputs (each file atomically: temporary, fsync, rename). Returns the files written.
// UserError naming the directory when it cannot be created or written.
std::vector<std::filesystem::path> write_prediction(const Scene& scene,
                                                    const std::vector<LabelPrediction>& heads,
                                                    const std::filesystem::path& out_dir,
                                                    const PredictOutputOptions& options);

// True when `scene` came from an AI4Arctic netCDF file and `heads` include SIC, SOD and FLOE.
bool autoice_submission_possible(const Scene& scene, const std::vector<LabelPrediction>& heads);

}  // namespace sarseg::io
