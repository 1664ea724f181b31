#include "sarseg/infer/predict.h"

#include <algorithm>
#include <array>

#include "sarseg/build_config.h"
#include "sarseg/io/geotiff.h"
#include "sarseg/io/image.h"
#include "sarseg/io/quicklook.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

#if SARSEG_HAVE_NETCDF
#include <netcdf.h>
#endif

namespace sarseg::infer {

namespace fs = std::filesystem;

namespace {

std::string output_stem(const io::Scene& scene) {
  std::string stem = scene.id;
  if (stem.empty()) stem = fs::path(scene.source_path).stem().string();
  if (stem.empty()) stem = "scene";
  for (char& c : stem)
    if (c == '/' || c == '\\' || c == ' ') c = '_';
  return stem;
}

const eval::HeadPrediction* find_head(const eval::ScenePrediction& prediction,
                                      const std::string& label) {
  for (const auto& head : prediction.heads)
    if (to_lower(head.label) == to_lower(label)) return &head;
  return nullptr;
}

io::RgbImage quicklook(const io::Scene& scene, const eval::ScenePrediction& prediction,
                       int max_side) {
  const int margin = 8, title_height = 14;
  std::vector<std::pair<std::string, io::RgbImage>> panels;
  std::vector<io::RgbImage> legends;
  if (scene.find_band("hh_db") && scene.find_band("hv_db")) {
    panels.emplace_back("HH/HV false colour", io::sar_false_colour(scene, max_side));
    legends.emplace_back();
  }
  for (const auto& head : prediction.heads) {
    std::array<int64_t, 256> histogram{};
    for (uint8_t v : head.classes.data)
      ++histogram[v];
    int classes = 0;
    for (int c = 0; c < 255; ++c)
      if (histogram[static_cast<size_t>(c)] > 0) classes = c + 1;
    if (!head.probabilities.empty()) classes = static_cast<int>(head.probabilities.size());
    const io::Palette palette = io::palette_for_label(head.label, std::max(classes, 1));
    std::vector<bool> present(palette.colours.size(), false);
    for (size_t c = 0; c < present.size() && c < 255; ++c)
      present[c] = histogram[c] > 0;
    panels.emplace_back("predicted " + head.label,
                        io::colour_class_map(head.classes, palette, max_side));
    legends.push_back(io::legend_image(palette, head.label, present));
  }
  int width = margin, height = 0;
  for (size_t i = 0; i < panels.size(); ++i) {
    width += std::max(panels[i].second.width, legends[i].width) + margin;
    height = std::max(height, panels[i].second.height + legends[i].height);
  }
  io::RgbImage canvas =
      io::blank_image(height + title_height + 3 * margin, std::max(width, margin * 2 + 200));
  io::draw_text(canvas, 2, margin, output_stem(scene), {0, 0, 0});
  int left = margin;
  for (size_t i = 0; i < panels.size(); ++i) {
    const auto& [title, image] = panels[i];
    io::draw_text(canvas, margin + 2, left, title, {0, 0, 0});
    io::paste(canvas, image, margin + title_height, left);
    if (legends[i].width > 0)
      io::paste(canvas, legends[i], margin * 2 + title_height + image.height, left);
    left += std::max(image.width, legends[i].width) + margin;
  }
  return canvas;
}

}  // namespace

bool autoice_submission_possible(const io::Scene& scene, const eval::ScenePrediction& prediction) {
  const bool netcdf_input = ends_with(to_lower(scene.source_path), ".nc");
  return netcdf_input && find_head(prediction, "SIC") && find_head(prediction, "SOD") &&
         find_head(prediction, "FLOE");
}

std::vector<fs::path> prediction_paths(const io::Scene& scene,
                                       const eval::ScenePrediction& prediction,
                                       const fs::path& out_dir,
                                       const PredictOutputOptions& options) {
  const std::string stem = output_stem(scene);
  std::vector<fs::path> paths{out_dir / (stem + "_classes.tif")};
  if (options.probabilities)
    for (const auto& head : prediction.heads)
      if (!head.probabilities.empty())
        paths.push_back(out_dir / (stem + "_" + head.label + "_probabilities.tif"));
  if (options.quicklook) paths.push_back(out_dir / (stem + "_quicklook.png"));
  if (options.autoice && autoice_submission_possible(scene, prediction))
    paths.push_back(out_dir / (stem + "_submission.nc"));
  return paths;
}

std::vector<fs::path> write_prediction(const io::Scene& scene,
                                       const eval::ScenePrediction& prediction,
                                       const fs::path& out_dir,
                                       const PredictOutputOptions& options) {
  ensure_output_directory(out_dir);
  require(io::geotiff_supported(),
          "this sarseg was built without GDAL (SARSEG_WITH_GDAL=OFF), so it cannot write the "
          "GeoTIFF class map; rebuild with GDAL");
  const std::string stem = output_stem(scene);
  std::vector<fs::path> written;
  const std::map<std::string, std::string> metadata{
      {"SCENE_ID", scene.id}, {"SOURCE", scene.source_path}, {"SARSEG_PRODUCT", "class map"}};

  std::vector<std::pair<std::string, io::LabelRaster>> class_maps;
  for (const auto& head : prediction.heads)
    class_maps.emplace_back(head.label, head.classes);
  const auto classes_path = out_dir / (stem + "_classes.tif");
  io::write_label_geotiff(classes_path, class_maps, scene.geo, metadata);
  written.push_back(classes_path);

  if (options.probabilities) {
    for (const auto& head : prediction.heads) {
      if (head.probabilities.empty()) continue;
      std::vector<std::pair<std::string, io::LabelRaster>> bands;
      for (size_t c = 0; c < head.probabilities.size(); ++c)
        bands.emplace_back(head.label + " class " + std::to_string(c) + " probability",
                           head.probabilities[c]);
      auto path = out_dir / (stem + "_" + head.label + "_probabilities.tif");
      io::write_label_geotiff(path, bands, scene.geo,
                              {{"SCENE_ID", scene.id},
                               {"SARSEG_PRODUCT", head.label + " class probabilities"},
                               {"PROBABILITY_SCALE", "1/254 (value 254 = probability 1)"}});
      written.push_back(path);
    }
  }

  if (options.quicklook) {
    auto path = out_dir / (stem + "_quicklook.png");
    io::write_png(path, quicklook(scene, prediction, options.quicklook_max_side));
    written.push_back(path);
  }

  if (options.autoice && autoice_submission_possible(scene, prediction)) {
    std::map<std::string, io::LabelRaster> charts;
    for (const char* chart : {"SIC", "SOD", "FLOE"})
      charts[chart] = find_head(prediction, chart)->classes;
    auto path = out_dir / (stem + "_submission.nc");
    write_autoice_submission(path, stem.substr(0, 19), charts);
    written.push_back(path);
  }
  return written;
}

void write_autoice_submission(const fs::path& path, const std::string& scene_name,
                              const std::map<std::string, io::LabelRaster>& charts) {
#if SARSEG_HAVE_NETCDF
  require(!charts.empty(), "no charts for the AutoICE submission '" + path.string() + "'");
  for (const auto& [chart, raster] : charts)
    require(raster.height == charts.begin()->second.height &&
                raster.width == charts.begin()->second.width,
            "AutoICE submission '" + path.string() + "': chart " + chart + " differs in size");
  AtomicOutput output(path);
  int ncid = -1;
  auto check = [&](int status, const std::string& what) {
    if (status == NC_NOERR) return;
    if (ncid >= 0) nc_close(ncid);
    ncid = -1;
    throw UserError("cannot write the AutoICE submission '" + path.string() + "' (" + what +
                    "): " + nc_strerror(status));
  };
  check(nc_create(output.temp_path().c_str(), NC_NETCDF4 | NC_CLOBBER, &ncid), "creating");
  const auto& first = charts.begin()->second;
  int dims[2];
  check(nc_def_dim(ncid, "sar_lines", static_cast<size_t>(first.height), &dims[0]), "dimensions");
  check(nc_def_dim(ncid, "sar_samples", static_cast<size_t>(first.width), &dims[1]), "dimensions");
  std::vector<int> variables;
  for (const auto& [chart, raster] : charts) {
    const std::string name = scene_name + "_" + chart;
    int varid = -1;
    check(nc_def_var(ncid, name.c_str(), NC_UBYTE, 2, dims, &varid), "variable " + name);
    check(nc_def_var_deflate(ncid, varid, 0, 1, 1), "compression of " + name);
    const unsigned char fill = 255;
    check(nc_def_var_fill(ncid, varid, 0, &fill), "fill value of " + name);
    variables.push_back(varid);
  }
  check(nc_enddef(ncid), "header");
  size_t i = 0;
  for (const auto& [chart, raster] : charts) {
    check(nc_put_var_uchar(ncid, variables[i++], raster.data.data()), "writing " + chart);
  }
  check(nc_close(ncid), "closing");
  ncid = -1;
  output.commit();
#else
  (void)scene_name;
  (void)charts;
  throw UserError(
      "this sarseg was built without netCDF (SARSEG_WITH_NETCDF=OFF), so it cannot "
      "write the AutoICE submission '" +
      path.string() + "'; rebuild with netCDF or leave out the submission");
#endif
}

}  // namespace sarseg::infer
