// `sarseg chart rasterize CHART --like SCENE --out LABELS.tif`: SIGRID-3 ice-chart polygons to
// SIC / SOD / FLOE rasters on a scene's grid, by the AI4Arctic rules.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "sarseg/io/ai4arctic.h"
#include "sarseg/io/chart.h"
#include "sarseg/io/geotiff.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/io/stats.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::cli {
namespace {

struct ChartRasterizeCommandOptions {
  std::string chart;
  std::string like;
  std::string out;
  std::string layer;
};

void run_chart_rasterize(const ChartRasterizeCommandOptions& options) {
  const std::string out_lower = to_lower(options.out);
  require(ends_with(out_lower, ".tif") || ends_with(out_lower, ".tiff"),
          "--out '" + options.out + "' must be a GeoTIFF (.tif)");
  const io::Scene like = io::read_scene(options.like);
  io::ChartRasterizeOptions chart_options;
  chart_options.layer = options.layer;
  const auto labels = io::rasterize_chart(options.chart, like, chart_options);
  std::vector<std::pair<std::string, io::LabelRaster>> ordered;
  for (const char* name : io::kChartNames)
    ordered.emplace_back(name, labels.at(name));
  std::map<std::string, std::string> metadata = {{"SOURCE_CHART", options.chart}};
  if (!options.layer.empty()) metadata["CHART_LAYER"] = options.layer;
  if (!like.id.empty()) metadata["SCENE_ID"] = like.id;
  io::write_label_geotiff(options.out, ordered, like.geo, metadata);

  const double total = static_cast<double>(like.height * like.width);
  std::printf("wrote %s: SIC, SOD, FLOE on %lld x %lld pixels\n", options.out.c_str(),
              static_cast<long long>(like.height), static_cast<long long>(like.width));
  for (const auto& [name, raster] : ordered) {
    const auto histogram = io::class_histogram(raster);
    std::printf("  %-5s", name.c_str());
    for (int c = 0; c < 256; ++c) {
      const auto count = histogram[static_cast<size_t>(c)];
      if (count == 0) continue;
      std::printf(" %s:%.1f%%", c == io::kLabelFill ? "masked" : std::to_string(c).c_str(),
                  100.0 * static_cast<double>(count) / total);
    }
    std::printf("\n");
  }
}

void add_chart_command(CLI::App& root) {
  auto* chart = root.add_subcommand("chart", "ice charts (SIGRID-3 egg codes)");
  chart->require_subcommand(1);
  auto options = std::make_shared<ChartRasterizeCommandOptions>();
  auto* rasterize = chart->add_subcommand(
      "rasterize", "chart polygons -> SIC/SOD/FLOE label rasters on a scene's grid");
  rasterize->add_option("chart", options->chart, "chart file (GeoPackage, Shapefile, ...)")
      ->required();
  rasterize
      ->add_option("--like", options->like,
                   "scene whose grid the labels take (.tif, or .nc placed by its lat/lon grid)")
      ->required();
  rasterize->add_option("--out", options->out, "output label GeoTIFF (3 bands: SIC, SOD, FLOE)")
      ->required();
  rasterize->add_option("--layer", options->layer,
                        "chart layer (default: the first polygon layer)");
  rasterize->callback([options] { run_chart_rasterize(*options); });
}

const CommandRegistration kRegistration{25, "chart", add_chart_command};

}  // namespace
}  // namespace sarseg::cli
