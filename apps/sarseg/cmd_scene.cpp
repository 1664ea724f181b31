// `sarseg scene info FILE`: what a scene file holds (bands, size, grid, time, season, label
// classes), optional band statistics and a false-colour quicklook beside the label map.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "sarseg/io/ai4arctic.h"
#include "sarseg/io/image.h"
#include "sarseg/io/quicklook.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/io/stats.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::cli {
namespace {

struct SceneInfoOptions {
  std::string file;
  bool stats = false;
  std::string quicklook;
  std::string label;
  std::string labels_path;
  bool linear = false;
  int quicklook_size = 768;
};

// First line of the CRS: its name when the WKT has one.
std::string crs_name(const std::string& wkt) {
  if (wkt.empty()) return "none";
  const auto quote = wkt.find('"');
  if (quote == std::string::npos) return wkt.substr(0, 60);
  const auto end = wkt.find('"', quote + 1);
  return wkt.substr(quote + 1, end - quote - 1);
}

void print_statistics_row(const std::string& name, const std::string& units,
                          const io::BandStatistics& s) {
  std::printf("  %-16s %-7s %10.3f %9.3f %9.3f", name.c_str(), units.c_str(), s.mean, s.std, s.min);
  for (const auto& [percent, value] : s.percentiles)
    std::printf(" %8.3f", value);
  std::printf(" %9.3f\n", s.max);
}

void run_scene_info(const SceneInfoOptions& options) {
  io::SceneReadOptions read_options;
  read_options.labels_path = options.labels_path;
  read_options.linear_to_db = options.linear;
  const io::Scene scene = io::read_scene(options.file, read_options);
  require(scene.height > 0 && scene.width > 0, "scene '" + options.file + "' has zero size");

  std::printf("file:          %s\n", options.file.c_str());
  std::printf("scene id:      %s\n", scene.id.c_str());
  std::printf("size:          %lld x %lld pixels (height x width)\n",
              static_cast<long long>(scene.height), static_cast<long long>(scene.width));
  std::printf("pixel spacing: %g m\n", scene.pixel_spacing_m);
  if (scene.geo) {
    const auto& t = scene.geo->transform;
    std::printf("CRS:           %s\n", crs_name(scene.geo->crs_wkt).c_str());
    std::printf("geotransform:  %.6f %.6f %.6f %.6f %.6f %.6f\n", t[0], t[1], t[2], t[3], t[4],
                t[5]);
  } else {
    std::printf("CRS:           none (no geotransform)\n");
  }
  if (!scene.latitude_grid.empty()) {
    const auto lat = io::compute_band_statistics(scene.latitude_grid);
    const auto lon = io::compute_band_statistics(scene.longitude_grid);
    std::printf("lat/lon grid:  %lld x %lld points, latitude %.2f..%.2f, longitude %.2f..%.2f\n",
                static_cast<long long>(scene.latitude_grid.height),
                static_cast<long long>(scene.latitude_grid.width), lat.min, lat.max, lon.min,
                lon.max);
  }
  std::printf("time:          %s\n",
              scene.acquisition_time.empty() ? "unknown" : scene.acquisition_time.c_str());
  std::printf("season:        %s\n", io::to_string(scene.season).c_str());
  if (!scene.ice_service.empty()) std::printf("ice service:   %s\n", scene.ice_service.c_str());
  int64_t valid = 0;
  for (int64_t r = 0; r < scene.height; ++r)
    for (int64_t c = 0; c < scene.width; ++c)
      valid += scene.is_valid(r, c) ? 1 : 0;
  const double total = static_cast<double>(scene.height * scene.width);
  std::printf("valid pixels:  %lld (%.1f %%)\n", static_cast<long long>(valid),
              100.0 * static_cast<double>(valid) / total);
  std::printf("bands:        ");
  for (const auto& band : scene.bands)
    std::printf(" %s [%s]", band.name.c_str(), band.units.c_str());
  std::printf("\n");
  if (!scene.aux.empty()) {
    std::printf("2 km grids:    %zu (%lld x %lld):", scene.aux.size(),
                static_cast<long long>(scene.aux[0].pixels.height),
                static_cast<long long>(scene.aux[0].pixels.width));
    for (const auto& grid : scene.aux)
      std::printf(" %s", grid.name.c_str());
    std::printf("\n");
  }
  if (scene.labels.empty()) std::printf("labels:        none\n");
  for (const auto& [name, raster] : scene.labels) {
    const auto histogram = io::class_histogram(raster);
    std::printf("label %-8s", name.c_str());
    for (int c = 0; c < 256; ++c) {
      if (histogram[static_cast<size_t>(c)] == 0) continue;
      const double share = 100.0 * static_cast<double>(histogram[static_cast<size_t>(c)]) / total;
      if (c == io::kLabelFill) {
        std::printf(" masked:%lld (%.1f%%)",
                    static_cast<long long>(histogram[static_cast<size_t>(c)]), share);
      } else {
        std::printf(" %d:%lld (%.1f%%)", c,
                    static_cast<long long>(histogram[static_cast<size_t>(c)]), share);
      }
    }
    std::printf("\n");
  }

  if (options.stats) {
    const std::vector<double> percents = {1, 5, 25, 50, 75, 95, 99};
    std::printf("\nband statistics over valid pixels:\n");
    std::printf("  %-16s %-7s %10s %9s %9s", "band", "units", "mean", "std", "min");
    for (double p : percents)
      std::printf(" %7gp", p);
    std::printf(" %9s\n", "max");
    for (const auto& band : scene.bands) {
      const auto s = io::compute_band_statistics(band.pixels, scene.valid, percents);
      print_statistics_row(band.name, band.units, s);
      // z-scored files: the same numbers in physical units via the published statistics.
      const auto entry = io::ai4arctic_band(band.name);
      const auto global = io::ai4arctic_band_stats(band.name);
      if (band.units == "zscore" && entry && global) {
        io::BandStatistics physical = s;
        auto to_physical = [&](double z) { return z * global->std + global->mean; };
        physical.mean = to_physical(s.mean);
        physical.std = s.std * global->std;
        physical.min = to_physical(s.min);
        physical.max = to_physical(s.max);
        for (auto& [percent, value] : physical.percentiles)
          value = to_physical(value);
        print_statistics_row("", std::string(entry->physical_units), physical);
      }
    }
    if (!scene.aux.empty()) {
      std::printf("2 km grids (as stored):\n");
      for (const auto& grid : scene.aux)
        print_statistics_row(grid.name, "", io::compute_band_statistics(grid.pixels, {}, percents));
    }
  }

  if (!options.quicklook.empty()) {
    require(ends_with(to_lower(options.quicklook), ".png"),
            "--quicklook '" + options.quicklook + "' must end in .png");
    const io::RgbImage image = io::scene_quicklook(scene, options.label, options.quicklook_size);
    io::write_png(options.quicklook, image);
    std::printf("\nquicklook:     %s (%d x %d)\n", options.quicklook.c_str(), image.width,
                image.height);
  }
}

void add_scene_command(CLI::App& root) {
  auto* scene = root.add_subcommand("scene", "inspect scene files (AI4Arctic netCDF, GeoTIFF)");
  scene->require_subcommand(1);
  auto options = std::make_shared<SceneInfoOptions>();
  auto* info = scene->add_subcommand(
      "info", "bands, size, grid, time, season and label classes of a scene file");
  info->add_option("file", options->file, "scene file (.nc or .tif)")->required();
  info->add_flag("--stats", options->stats,
                 "per-band mean/std/min/max/percentiles over valid pixels (z-scored files also "
                 "in dB / degrees)");
  info->add_option("--quicklook", options->quicklook,
                   "write a PNG: HH/HV false colour beside the label map, with a legend");
  info->add_option("--label", options->label,
                   "label shown in the quicklook (default: SOD, SIC, FLOE, classes)");
  info->add_option("--quicklook-size", options->quicklook_size,
                   "largest side of each quicklook panel in pixels")
      ->check(CLI::Range(16, 8192));
  info->add_option("--labels", options->labels_path,
                   "GeoTIFF: label raster (default: a sibling <name>_labels.tif)");
  info->add_flag("--linear", options->linear, "GeoTIFF: bands hold linear sigma0; show them in dB");
  info->callback([options] { run_scene_info(*options); });
}

const CommandRegistration kRegistration{20, "scene", add_scene_command};

}  // namespace
}  // namespace sarseg::cli
