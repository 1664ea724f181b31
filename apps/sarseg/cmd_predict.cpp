// `sarseg predict --checkpoint C [--checkpoint C2 ...] SCENE... --out DIR`: whole-scene tiled
// inference to Cloud-Optimised GeoTIFF class maps (+ probabilities, uncertainty), PNG quicklooks,
// QGIS styles, GeoPackage vectors and, for AI4Arctic scenes, the AutoICE submission. Several
// checkpoints (or an experiment arm's folder of runs) are averaged as an ensemble.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "commands.h"
#include "inference_cli.h"
#include "sarseg/infer/checkpoint_loader.h"
#include "sarseg/io/geotiff.h"
#include "sarseg/io/prediction_output.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/io/sentinel1.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::cli {
namespace {

namespace fs = std::filesystem;

struct PredictCommandOptions {
  std::vector<std::string> checkpoints;
  std::vector<std::string> scenes;
  bool uncertainty = false;
  std::string out;
  std::string labels;
  std::string product_crs;
  io::PredictOutputOptions outputs;
  InferenceSettings inference_settings;
  infer::InferenceOptions inference;  // resolved from inference_settings
};

void run_predict(const PredictCommandOptions& options) {
  require(io::geotiff_supported(),
          "this sarseg was built without GDAL (SARSEG_WITH_GDAL=OFF), so predict cannot write "
          "GeoTIFF class maps; rebuild with GDAL");
  for (const auto& scene : options.scenes) {
    std::error_code error;
    // Sentinel-1 products may be .SAFE folders; they are imported in memory by read_scene.
    require(fs::is_regular_file(scene, error) ||
                (io::s1::is_product_path(scene) && fs::is_directory(scene, error)),
            "scene file '" + scene + "' does not exist or is not a file");
  }
  const fs::path out_dir(options.out);
  ensure_output_directory(out_dir);  // before any work: an unwritable folder fails at once

  const auto checkpoints = infer::ensemble_checkpoints(
      std::vector<fs::path>(options.checkpoints.begin(), options.checkpoints.end()));
  const auto ensemble = infer::load_ensemble(checkpoints, options.inference);
  const auto& predictor = ensemble.predictor;
  // Ensembles and Monte Carlo dropout always give their uncertainty; one model on request.
  const bool uncertainty = options.uncertainty || predictor.passes() > 1;
  if (predictor.passes() > 1)
    std::printf("averaging %lld %s\n", static_cast<long long>(predictor.passes()),
                predictor.size() > 1 ? "checkpoints" : "Monte Carlo dropout passes");
  io::SceneReadOptions read_options = infer::scene_read_options(ensemble.members.front());
  read_options.labels_path = options.labels;
  read_options.product.crs = options.product_crs;
  for (const auto& file : options.scenes) {
    const io::Scene scene = io::read_scene(file, read_options);
    predictor.check_scene(scene);
    const auto prediction = predictor.predict(scene, options.outputs.probabilities, uncertainty);
    const auto written = io::write_prediction(scene, prediction.heads, out_dir, options.outputs);
    std::printf(
        "%s: %lld x %lld pixels, %lld tiles of %lld x %lld, %.1f s (%.2f Mpx/s)\n", file.c_str(),
        static_cast<long long>(scene.height), static_cast<long long>(scene.width),
        static_cast<long long>(prediction.tiles), static_cast<long long>(prediction.tile_height),
        static_cast<long long>(prediction.tile_width), prediction.seconds,
        static_cast<double>(scene.height * scene.width) / 1e6 / std::max(prediction.seconds, 1e-9));
    for (const auto& path : written)
      std::printf("  wrote %s\n", path.string().c_str());
  }
}

void add_predict_command(CLI::App& root) {
  auto options = std::make_shared<PredictCommandOptions>();
  auto* app = root.add_subcommand(
      "predict", "whole-scene ice maps: GeoTIFF class maps, probabilities, PNG quicklooks");
  app->add_option("--checkpoint", options->checkpoints,
                  "checkpoint file, training run directory, or an experiment arm's folder of runs; "
                  "repeat for an ensemble (probabilities averaged, uncertainty written)")
      ->required()
      ->allow_extra_args(false);  // one path per --checkpoint; the scenes stay positional
  app->add_option("scenes", options->scenes,
                  "scene files (.nc, .tif) or Sentinel-1 GRD products (.SAFE, .zip: imported in "
                  "memory as `sarseg s1 import` does with its defaults)")
      ->required();
  app->add_option("--out", options->out, "output folder (created when missing)")->required();
  app->add_flag("--probabilities", options->outputs.probabilities,
                "also write per-class probabilities (uint8 bands, value / 254, nodata 255)");
  app->add_flag("--uncertainty", options->uncertainty,
                "write {id}_{label}_uncertainty.tif (predictive entropy, mutual information) for "
                "one model too (ensembles and --mc-dropout always write it)");
  app->add_flag("--qgis-style,!--no-qgis-style", options->outputs.qgis_style,
                std::string("write a QGIS layer style (.qml) beside the class map (default: ") +
                    (options->outputs.qgis_style ? "on" : "off") + ")");
  app->add_flag("--vectors,!--no-vectors", options->outputs.vectors,
                std::string("write {id}_vectors.gpkg: class polygons and the ice edge with class, "
                            "area and mean uncertainty (default: ") +
                    (options->outputs.vectors ? "on" : "off") + ")");
  app->add_flag("--quicklook,!--no-quicklook", options->outputs.quicklook,
                "write a PNG: SAR false colour beside each predicted map, with legends");
  app->add_option("--quicklook-size", options->outputs.quicklook_max_side,
                  "largest side of each quicklook panel in pixels")
      ->check(CLI::Range(16, 8192));
  app->add_flag("--submission,!--no-submission", options->outputs.autoice,
                "AI4Arctic netCDF input with SIC, SOD and FLOE heads: write the AutoICE "
                "submission netCDF");
  app->add_option("--labels", options->labels,
                  "GeoTIFF scenes: label raster (default: a sibling <name>_labels.tif)");
  app->add_option("--product-crs", options->product_crs,
                  "Sentinel-1 products: warp to this map CRS (e.g. EPSG:3413) before predicting; "
                  "empty = swath geometry");
  add_inference_settings(*app, options->inference_settings);
  app->callback([options, app] {
    options->inference = resolve_inference_options(*app, options->inference_settings);
    run_predict(*options);
  });
}

const CommandRegistration kRegistration{70, "predict", add_predict_command};

}  // namespace
}  // namespace sarseg::cli
