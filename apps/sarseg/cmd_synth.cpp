// `sarseg synth`: writes synthetic Sentinel-1 EW-like sea-ice scenes (AI4Arctic netCDF or GeoTIFF)
// with ice-chart labels and pixel truth. Defaults come from synth::SynthSpec.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "commands.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/synth/synth.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::cli {
namespace {

struct SynthOptions {
  synth::SynthSpec spec;
  std::string season;
  std::string size;
  std::string label_mode;
  std::string format = "nc";
  std::string prefix;
  std::filesystem::path out;
  int count = 1;
  bool quiet = false;
  bool partial_swath = false;

  SynthOptions()
      : season(io::to_string(spec.season)),
        size(std::to_string(spec.height) + "x" + std::to_string(spec.width)),
        label_mode(synth::to_string(spec.label_mode)) {}
};

void run_synth(SynthOptions& options) {
  synth::SynthSpec spec = options.spec;
  spec.season = io::parse_season(options.season);
  require(spec.season != io::Season::kUnknown,
          "--season: give freeze-up, winter or melt (not 'unknown')");
  const auto [height, width] = parse_size(options.size, "--size");
  spec.height = height;
  spec.width = width;
  spec.label_mode = synth::parse_label_mode(options.label_mode);
  if (options.partial_swath) spec.full_swath = false;
  const std::string format = to_lower(options.format);
  require(format == "nc" || format == "tif",
          "--format '" + options.format + "' is not known; use nc or tif");
  require(options.count >= 1 && options.count <= 100000,
          "--count " + std::to_string(options.count) + " is out of range; use 1..100000");
  require(options.prefix.find('/') == std::string::npos,
          "--prefix '" + options.prefix + "' must not contain '/'; use --out for the directory");
  require(!options.out.empty(), "--out: give the output directory");
  synth::validate(spec);
  ensure_output_directory(options.out);

  std::set<std::string> names;  // two scenes of a batch may draw the same timestamp
  for (int k = 0; k < options.count; ++k) {
    io::Scene scene = synth::generate_scene(synth::batch_member(spec, k));
    std::string name = synth::scene_file_name(scene, format, options.prefix);
    for (int attempt = 1; names.count(name) != 0; ++attempt) {
      scene.id = scene.id + "_" + std::to_string(attempt);
      name = synth::scene_file_name(scene, format, options.prefix);
    }
    names.insert(name);
    const auto path = options.out / name;
    io::write_scene(scene, path);
    if (!options.quiet) {
      const auto agreement = synth::measure_label_agreement(scene);
      std::printf("%s  %s %lldx%lld  wind %s m/s  chart SOD != pixel SOD %.1f %%  SIC error %.2f\n",
                  path.string().c_str(), io::to_string(scene.season).c_str(),
                  static_cast<long long>(scene.height), static_cast<long long>(scene.width),
                  scene.attributes["synth_wind_speed_ms"].substr(0, 4).c_str(),
                  100.0 * agreement.sod_disagreement, agreement.sic_mean_abs_error);
      std::fflush(stdout);
    }
  }
}

void add_synth_command(CLI::App& root) {
  auto options = std::make_shared<SynthOptions>();
  auto* cmd = root.add_subcommand(
      "synth",
      "write synthetic Sentinel-1 EW-like sea-ice scenes (freeze-up, winter, melt) with chart and "
      "pixel-truth labels, as AI4Arctic netCDF or GeoTIFF (see docs/synth.md)");
  cmd->add_option("--season", options->season, "freeze-up, winter or melt");
  cmd->add_option("--size", options->size, "scene size HEIGHTxWIDTH in pixels");
  cmd->add_option("--pixel-spacing", options->spec.pixel_spacing_m, "pixel spacing in metres");
  cmd->add_option("--looks", options->spec.looks,
                  "equivalent number of looks of the speckle (gamma shape)");
  cmd->add_option("--seed", options->spec.seed, "random seed; scene k of a batch uses seed + k");
  cmd->add_option("--count", options->count, "number of scenes");
  cmd->add_option("--label-mode", options->label_mode,
                  "chart: SIC/SOD/FLOE from chart polygons (pixel truth as *_pixel); pixel: the "
                  "reverse (charts as *_chart)");
  cmd->add_option("--format", options->format,
                  "nc (AI4Arctic ready-to-train) or tif (GeoTIFF stack "
                  "+ <name>_labels.tif)");
  cmd->add_option("--out", options->out, "output directory (created if missing)")->required();
  cmd->add_option("--prefix", options->prefix, "text put in front of every file name");
  cmd->add_option("--wind", options->spec.wind_speed_ms,
                  "wind speed over open water in m/s (negative: drawn per scene)");
  cmd->add_option("--land-probability", options->spec.land_probability,
                  "probability that a scene contains land and coast");
  cmd->add_option("--polygon-size", options->spec.chart_polygon_size_km,
                  "typical chart polygon size in km");
  cmd->add_flag(
      "--partial-swath", options->partial_swath,
      "true EW ground-range geometry (a narrow scene sees part of the 19-47 degree swath) "
      "instead of the whole swath across the scene's width");
  cmd->add_flag("--quiet", options->quiet, "print nothing per scene");
  cmd->callback([options] { run_synth(*options); });
}

const CommandRegistration kRegistration{10, "synth", add_synth_command};

}  // namespace
}  // namespace sarseg::cli
