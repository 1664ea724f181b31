// `sarseg filter SCENE --out OUT --filter NAME`: a speckle-filtered copy of a scene. Bands in dB
// are filtered in linear intensity and written back in dB; other bands and the labels are copied.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/io/speckle.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::cli {
namespace {

struct FilterOptions {
  std::string scene;
  std::string out;
  io::SpeckleFilterSpec spec;
  int threads = 0;
  std::string labels_path;
};

void run_filter(const FilterOptions& options) {
  io::check_speckle_filter(options.spec, "--filter");
  require(std::filesystem::path(options.out).lexically_normal() !=
              std::filesystem::path(options.scene).lexically_normal(),
          "--out " + options.out + " is the input scene; give another file");
  io::SceneReadOptions read;
  read.physical_units = true;  // z-scored netCDF values back to dB, which the filters need
  read.labels_path = options.labels_path;
  io::Scene scene = io::read_scene(options.scene, read);
  const auto start = std::chrono::steady_clock::now();
  const int bands = io::filter_scene_bands(scene, options.spec, options.threads);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  require(bands > 0 || !options.spec.active(),
          "scene '" + options.scene + "' has no band in dB (bands: " +
              join(scene.band_names(), ", ") + "); the filters take backscatter in dB");
  io::write_scene(scene, options.out);
  const double megapixels = static_cast<double>(scene.height) * scene.width * bands / 1e6;
  std::printf("%s: %s on %d dB band(s) of %lld x %lld in %.2f s (%.1f Mpx/s) -> %s\n",
              options.scene.c_str(), io::describe(options.spec).c_str(), bands,
              static_cast<long long>(scene.height), static_cast<long long>(scene.width), seconds,
              seconds > 0 ? megapixels / seconds : 0.0, options.out.c_str());
}

void add_filter_command(CLI::App& root) {
  auto options = std::make_shared<FilterOptions>();
  std::string filters;
  for (const auto& info : io::speckle_filter_registry())
    filters += "\n  " + info.name + ": " + info.description;
  auto* cmd = root.add_subcommand(
      "filter",
      "speckle-filter a scene: dB bands filtered in linear intensity, written back in dB");
  cmd->add_option("scene", options->scene, "scene file (.nc, .tif) or Sentinel-1 product")
      ->required();
  cmd->add_option("--out", options->out, "output scene file (.nc or .tif), written atomically")
      ->required();
  cmd->add_option("--filter", options->spec.filter, "speckle filter:" + filters)->required();
  cmd->add_option("--window", options->spec.window,
                  "window side in pixels (odd, 3..51; refined_lee is always 7)");
  cmd->add_option("--looks", options->spec.looks,
                  "equivalent number of looks of the input (lee, enhanced_lee, gamma_map)");
  cmd->add_option("--filter-threads", options->threads, "threads over rows (0 = every core)");
  cmd->add_option("--labels", options->labels_path,
                  "GeoTIFF: label raster (default: a sibling <name>_labels.tif)");
  cmd->callback([options] { run_filter(*options); });
}

const CommandRegistration kRegistration{23, "filter", add_filter_command};

}  // namespace
}  // namespace sarseg::cli
