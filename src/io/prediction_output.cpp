#include "sarseg/io/prediction_output.h"

#include <algorithm>
#include <array>

#include "sarseg/io/geotiff.h"
#include "sarseg/io/gis_products.h"
#include "sarseg/io/image.h"
#include "sarseg/io/netcdf.h"
#include "sarseg/io/quicklook.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/find.h"
#include "sarseg/util/strings.h"

namespace sarseg::io {

namespace fs = std::filesystem;

namespace {

std::string output_stem(const Scene& scene) {
  std::string stem = scene.id;
  if (stem.empty()) stem = fs::path(scene.source_path).stem().string();
  if (stem.empty()) stem = "scene";
  for (char& c : stem)
    if (c == '/' || c == '\\' || c == ' ') c = '_';
  return stem;
}

const LabelPrediction* find_head(const std::vector<LabelPrediction>& heads,
                                 const std::string& label) {
  return find_first(
      heads, [&](const LabelPrediction& head) { return to_lower(head.label) == to_lower(label); });
}

RgbImage quicklook(const Scene& scene, const std::vector<LabelPrediction>& heads, int max_side) {
  std::vector<QuicklookPanel> panels;
  if (scene.find_band("hh_db") && scene.find_band("hv_db"))
    panels.push_back(sar_panel(scene, max_side));
  for (const auto& head : heads)
    panels.push_back(class_map_panel(head.classes, head.label, "predicted " + head.label, max_side,
                                     static_cast<int>(head.probabilities.size())));
  return compose_quicklook(output_stem(scene), panels);
}

// The head's classes, or when not recorded the largest value present + 1.
int class_count_of(const LabelPrediction& head) {
  if (head.class_count > 0) return static_cast<int>(head.class_count);
  int count = static_cast<int>(head.probabilities.size());
  for (uint8_t v : head.classes.data)
    if (v != kLabelFill) count = std::max(count, v + 1);
  return std::max(count, 1);
}

}  // namespace

bool autoice_submission_possible(const Scene& scene, const std::vector<LabelPrediction>& heads) {
  const bool netcdf_input = ends_with(to_lower(scene.source_path), ".nc");
  return netcdf_input && find_head(heads, "SIC") && find_head(heads, "SOD") &&
         find_head(heads, "FLOE");
}

std::vector<fs::path> prediction_paths(const Scene& scene,
                                       const std::vector<LabelPrediction>& heads,
                                       const fs::path& out_dir,
                                       const PredictOutputOptions& options) {
  const std::string stem = output_stem(scene);
  std::vector<fs::path> paths{out_dir / (stem + "_classes.tif")};
  if (options.probabilities)
    for (const auto& head : heads)
      if (!head.probabilities.empty())
        paths.push_back(out_dir / (stem + "_" + head.label + "_probabilities.tif"));
  for (const auto& head : heads)
    if (!head.entropy.empty())
      paths.push_back(out_dir / (stem + "_" + head.label + "_uncertainty.tif"));
  if (options.qgis_style)
    for (size_t h = 0; h < heads.size(); ++h)
      paths.push_back(out_dir /
                      (stem + (h == 0 ? "_classes" : "_classes_" + heads[h].label) + ".qml"));
  if (options.vectors) paths.push_back(out_dir / (stem + "_vectors.gpkg"));
  if (options.quicklook) paths.push_back(out_dir / (stem + "_quicklook.png"));
  if (options.autoice && autoice_submission_possible(scene, heads))
    paths.push_back(out_dir / (stem + "_submission.nc"));
  return paths;
}

std::vector<fs::path> write_prediction(const Scene& scene,
                                       const std::vector<LabelPrediction>& heads,
                                       const fs::path& out_dir,
                                       const PredictOutputOptions& options) {
  ensure_output_directory(out_dir);
  require(geotiff_supported(),
          "this sarseg was built without GDAL (SARSEG_WITH_GDAL=OFF), so it cannot write the "
          "GeoTIFF class map; rebuild with GDAL");
  const std::string stem = output_stem(scene);
  std::vector<fs::path> written;
  const std::map<std::string, std::string> metadata{
      {"SCENE_ID", scene.id}, {"SOURCE", scene.source_path}, {"SARSEG_PRODUCT", "class map"}};

  std::vector<std::pair<std::string, LabelRaster>> class_maps;
  for (const auto& head : heads)
    class_maps.emplace_back(head.label, head.classes);
  const auto classes_path = out_dir / (stem + "_classes.tif");
  RasterLayout categorical;
  categorical.cloud_optimised = true;
  categorical.overview_resampling = "NEAREST";
  RasterLayout continuous;
  continuous.cloud_optimised = true;
  continuous.overview_resampling = "AVERAGE";
  write_label_geotiff(classes_path, class_maps, scene.geo, metadata, categorical);
  written.push_back(classes_path);

  if (options.probabilities) {
    for (const auto& head : heads) {
      if (head.probabilities.empty()) continue;
      std::vector<std::pair<std::string, LabelRaster>> bands;
      for (size_t c = 0; c < head.probabilities.size(); ++c)
        bands.emplace_back(head.label + " class " + std::to_string(c) + " probability",
                           head.probabilities[c]);
      auto path = out_dir / (stem + "_" + head.label + "_probabilities.tif");
      write_label_geotiff(path, bands, scene.geo,
                          {{"SCENE_ID", scene.id},
                           {"SARSEG_PRODUCT", head.label + " class probabilities"},
                           {"PROBABILITY_SCALE", "1/254 (value 254 = probability 1)"}},
                          continuous);
      written.push_back(path);
    }
  }

  for (const auto& head : heads) {
    if (head.entropy.empty()) continue;
    const std::vector<Band> bands{{"predictive_entropy", "nats", head.entropy},
                                  {"mutual_information", "nats", head.mutual_information}};
    auto path = out_dir / (stem + "_" + head.label + "_uncertainty.tif");
    write_float_geotiff(path, bands, scene.geo, {},
                        {{"SCENE_ID", scene.id},
                         {"SARSEG_PRODUCT", head.label + " uncertainty"},
                         {"ENSEMBLE_MEMBERS", std::to_string(head.members)}},
                        continuous);
    written.push_back(path);
  }

  if (options.qgis_style) {
    for (size_t h = 0; h < heads.size(); ++h) {
      auto path = out_dir / (stem + (h == 0 ? "_classes" : "_classes_" + heads[h].label) + ".qml");
      write_qgis_style(path, heads[h].label, class_count_of(heads[h]), static_cast<int>(h) + 1);
      written.push_back(path);
    }
  }

  if (options.vectors) {
    auto path = out_dir / (stem + "_vectors.gpkg");
    write_prediction_vectors(path, heads, scene.geo);
    written.push_back(path);
  }

  if (options.quicklook) {
    auto path = out_dir / (stem + "_quicklook.png");
    write_png(path, quicklook(scene, heads, options.quicklook_max_side));
    written.push_back(path);
  }

  if (options.autoice && autoice_submission_possible(scene, heads)) {
    std::map<std::string, LabelRaster> charts;
    for (const char* chart : {"SIC", "SOD", "FLOE"})
      charts[chart] = find_head(heads, chart)->classes;
    auto path = out_dir / (stem + "_submission.nc");
    write_autoice_submission(path, stem.substr(0, 19), charts);
    written.push_back(path);
  }
  return written;
}

}  // namespace sarseg::io
