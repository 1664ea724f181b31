// `sarseg s1 import PRODUCT --out SCENE`: a Sentinel-1 GRD product (.SAFE folder or .zip) to a
// sarseg scene (GeoTIFF stack or AI4Arctic netCDF): calibration, thermal-noise removal, incidence,
// multilooking and optionally a warp to a map CRS, without SNAP.
// `sarseg s1 synth --out DIR`: a synthetic product for tests and benchmarks.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/io/sentinel1.h"
#include "sarseg/synth/s1_product.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::cli {
namespace {

struct S1ImportCommandOptions {
  std::string product;
  std::string out;
  std::string backscatter = io::s1::to_string(io::s1::CalibrationOptions{}.target);
  bool remove_noise = io::s1::CalibrationOptions{}.remove_noise;
  io::s1::ImportOptions import;
};

void run_s1_import(S1ImportCommandOptions options) {
  const std::string out = to_lower(options.out);
  require(ends_with(out, ".tif") || ends_with(out, ".tiff") || ends_with(out, ".nc"),
          "--out '" + options.out + "' must be a GeoTIFF (.tif) or AI4Arctic netCDF (.nc) file");
  options.import.calibration.target = io::s1::parse_calibration_target(options.backscatter);
  options.import.calibration.remove_noise = options.remove_noise;
  const auto start = std::chrono::steady_clock::now();
  const io::s1::Product product = io::s1::open_product(options.product);
  const io::Scene scene = io::s1::import_product(product, options.import);
  const auto imported = std::chrono::steady_clock::now();
  io::write_scene(scene, options.out);
  const auto end = std::chrono::steady_clock::now();
  const double import_seconds = std::chrono::duration<double>(imported - start).count();
  const double write_seconds = std::chrono::duration<double>(end - imported).count();

  int64_t valid = 0;
  for (int64_t r = 0; r < scene.height; ++r)
    for (int64_t c = 0; c < scene.width; ++c)
      valid += scene.is_valid(r, c) ? 1 : 0;
  std::printf(
      "product:       %s (%s %s, IPF %s)\n", product.name.c_str(), product.manifest.mission.c_str(),
      scene.attributes.at("s1_mode").c_str(),
      product.manifest.ipf_version.empty() ? "unknown" : product.manifest.ipf_version.c_str());
  std::printf("image:         %lld x %lld pixels,", static_cast<long long>(product.lines),
              static_cast<long long>(product.samples));
  for (const auto& p : product.polarisations)
    std::printf(" %s", p.files.polarisation.c_str());
  std::printf("\n");
  std::printf("backscatter:   %s, noise removal: %s, looks %s\n",
              scene.attributes.at("s1_backscatter").c_str(),
              scene.attributes.at("s1_noise_removal").c_str(),
              scene.attributes.at("s1_looks").c_str());
  std::printf("scene:         %lld x %lld pixels at %g m, %s, valid %.1f %%\n",
              static_cast<long long>(scene.height), static_cast<long long>(scene.width),
              scene.pixel_spacing_m,
              options.import.crs.empty() ? "swath geometry" : options.import.crs.c_str(),
              100.0 * static_cast<double>(valid) /
                  static_cast<double>(std::max<int64_t>(scene.height * scene.width, 1)));
  std::printf("time:          %s, season %s\n", scene.acquisition_time.c_str(),
              io::to_string(scene.season).c_str());
  std::printf("wrote:         %s (import %.1f s, write %.1f s)\n", options.out.c_str(),
              import_seconds, write_seconds);
}

void add_import_options(CLI::App& app, S1ImportCommandOptions& options) {
  app.add_option("product", options.product, "Sentinel-1 GRD product: .SAFE folder or .zip")
      ->required();
  app.add_option("--out", options.out, "output scene: GeoTIFF stack (.tif) or netCDF (.nc)")
      ->required();
  app.add_option("--backscatter", options.backscatter, "calibration: sigma0, beta0 or gamma0")
      ->check(CLI::IsMember({"sigma0", "beta0", "gamma0"}));
  app.add_flag("--noise-removal,!--no-noise-removal", options.remove_noise,
               "subtract the annotated thermal noise (range x azimuth vectors; range only "
               "before IPF 2.9)");
  app.add_option("--pixel-spacing", options.import.pixel_spacing_m,
                 "output pixel spacing in metres (intensities averaged in blocks)")
      ->check(CLI::PositiveNumber);
  app.add_option("--db-floor", options.import.db_floor,
                 "floor in dB for backscatter that noise removal leaves at or below zero");
  app.add_option("--min-valid", options.import.min_valid_fraction,
                 "share of a block's pixels that must hold data for the output pixel to be valid")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--crs", options.import.crs,
                 "warp to this map CRS (e.g. EPSG:3413) from the geolocation tie points; "
                 "empty = swath geometry with the tie-point latitude/longitude grid");
  app.add_option("--jobs", options.import.threads, "worker threads (0 = every core)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--strip-lines", options.import.strip_lines,
                 "product lines per strip and thread (memory: about 6 bytes x samples x this)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
}

struct S1SynthCommandOptions {
  std::string out;
  bool zip = false;
  std::string polarisations = "HH,HV";
  synth::S1ProductSpec spec;
};

void run_s1_synth(S1SynthCommandOptions options) {
  options.spec.polarisations = split(options.polarisations, ',');
  const auto start = std::chrono::steady_clock::now();
  const auto files = synth::write_s1_product(options.spec, options.out, options.zip);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("wrote %s (%lld x %lld, %s, %.1f s)\n",
              (options.zip ? files.zip : files.safe).string().c_str(),
              static_cast<long long>(options.spec.lines),
              static_cast<long long>(options.spec.samples), options.polarisations.c_str(), seconds);
}

void add_s1_command(CLI::App& root) {
  auto* s1 = root.add_subcommand("s1", "Sentinel-1 GRD products (.SAFE, .zip) to scenes");
  s1->require_subcommand(1);
  auto import_options = std::make_shared<S1ImportCommandOptions>();
  auto* import = s1->add_subcommand(
      "import", "calibrate, remove thermal noise, multilook and write a scene (no SNAP needed)");
  add_import_options(*import, *import_options);
  import->callback([import_options] { run_s1_import(*import_options);
});

auto synth_options = std::make_shared<S1SynthCommandOptions>();
auto& spec = synth_options->spec;
auto* synth = s1->add_subcommand(
    "synth", "write a synthetic Sentinel-1 GRD product (ESA layout) for tests and benchmarks");
synth->add_option("--out", synth_options->out, "folder to write <name>.SAFE into")->required();
synth->add_flag("--zip", synth_options->zip, "also write <name>.zip");
synth->add_option("--mode", spec.mode, "EW (5 sub-swaths) or IW (3)")
    ->check(CLI::IsMember({"EW", "IW"}));
synth->add_option("--polarisations", synth_options->polarisations,
                  "one or two, co-polarisation first (HH,HV or VV,VH)");
synth->add_option("--lines", spec.lines, "image lines")->check(CLI::Range(2, 100000));
synth->add_option("--samples", spec.samples, "image samples")->check(CLI::Range(80, 100000));
synth->add_option("--pixel-spacing", spec.pixel_spacing_m, "pixel spacing in metres")
    ->check(CLI::PositiveNumber);
synth->add_option("--ipf", spec.ipf_version,
                  "IPF version; before 002.90 the noise has range vectors only");
synth->add_option("--start-time", spec.start_time, "acquisition start (ISO 8601)");
synth->add_flag("--compress", spec.compress,
                "tiled DEFLATE measurement rasters (default: uncompressed strips, as ESA's)");
synth->add_option("--seed", spec.seed, "speckle seed");
synth->callback([synth_options] { run_s1_synth(*synth_options); });
}  // namespace

const CommandRegistration kRegistration{22, "s1", add_s1_command};

}  // namespace sarseg::cli
}  // namespace sarseg::cli
