// `sarseg bench speckle`: what each speckle filter does on simulated speckle with known looks.
//   - a homogeneous field (constant sigma0 times the simulator's L-look gamma speckle): ENL
//     before/after, mean of the ratio image original / filtered, mean kept;
//   - a simulated scene (synth::generate_scene, with its speckle-free sigma0): ENL of the residual
//     speckle filtered / sigma0 where sigma0 is locally homogeneous, and the filter's speed;
//   - a 10 dB step edge under the same speckle: the edge retention, the filtered step between the
//     two pixel columns either side of the edge over the true step (1 = kept, 0 = erased).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "sarseg/io/speckle.h"
#include "sarseg/synth/random.h"
#include "sarseg/synth/synth.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/process.h"
#include "sarseg/util/strings.h"

namespace sarseg::cli {
namespace {

struct BenchSpeckleOptions {
  int field_size = 512;
  std::string scene_size = "1000x1000";
  double looks = 4.0;
  int64_t window = 7;
  int threads = 0;
  int repeat = 3;
  uint64_t seed = 1;
  std::vector<std::string> filters;  // empty = every filter
  std::string json;
};

io::FloatRaster speckled(const io::FloatRaster& sigma0, double looks, synth::Rng& rng) {
  io::FloatRaster out = sigma0;
  for (auto& v : out.data)
    v = static_cast<float>(v * rng.gamma(looks) / looks);
  return out;
}

// Pixels at least `margin` from the border.
io::Raster<uint8_t> inner_mask(int64_t h, int64_t w, int64_t margin) {
  io::Raster<uint8_t> mask(h, w, 0);
  for (int64_t r = margin; r < h - margin; ++r)
    for (int64_t c = margin; c < w - margin; ++c)
      mask.at(r, c) = 1;
  return mask;
}

// Where sigma0's coefficient of variation over the 7x7 window is below 3 % (and away from the
// border): areas the filters should smooth as much as they can.
io::Raster<uint8_t> homogeneous_mask(const io::FloatRaster& sigma0) {
  const int64_t h = sigma0.height, w = sigma0.width, half = 3;
  io::Raster<uint8_t> mask(h, w, 0);
  for (int64_t r = half + 4; r < h - half - 4; ++r)
    for (int64_t c = half + 4; c < w - half - 4; ++c) {
      double sum = 0, sum_sq = 0;
      for (int64_t y = r - half; y <= r + half; ++y)
        for (int64_t x = c - half; x <= c + half; ++x) {
          const double v = sigma0.at(y, x);
          sum += v;
          sum_sq += v * v;
        }
      const double mean = sum / 49.0;
      const double variance = std::max(0.0, sum_sq / 49.0 - mean * mean);
      mask.at(r, c) = mean > 0 && std::sqrt(variance) / mean < 0.03;
    }
  return mask;
}

io::FloatRaster divided(const io::FloatRaster& a, const io::FloatRaster& b) {
  io::FloatRaster out = a;
  for (size_t i = 0; i < out.data.size(); ++i)
    out.data[i] = b.data[i] > 0 ? a.data[i] / b.data[i] : std::nanf("");
  return out;
}

double masked_mean(const io::FloatRaster& r, const io::Raster<uint8_t>& mask) {
  double sum = 0;
  int64_t n = 0;
  for (size_t i = 0; i < r.data.size(); ++i)
    if (mask.data[i] && std::isfinite(r.data[i])) sum += r.data[i], ++n;
  return n ? sum / static_cast<double>(n) : std::nan("");
}

double column_mean(const io::FloatRaster& r, int64_t column) {
  double sum = 0;
  for (int64_t y = 0; y < r.height; ++y)
    sum += r.at(y, column);
  return sum / static_cast<double>(r.height);
}

struct FilterRow {
  std::string filter;
  double field_enl = 0, field_ratio_mean = 0, field_mean_kept = 0;
  double scene_enl = 0, scene_ratio_mean = 0;
  double edge_retention = 0;
  double seconds = 0, megapixels_per_second = 0;
};

void run_bench_speckle(const BenchSpeckleOptions& options) {
  require(options.field_size >= 64 && options.field_size <= 8192,
          "--field-size must be within 64..8192");
  require(options.repeat >= 1 && options.repeat <= 100, "--repeat must be within 1..100");
  std::vector<std::string> filters =
      options.filters.empty() ? io::speckle_filter_names() : options.filters;
  for (const auto& name : filters)
    io::check_speckle_filter({name, options.window, options.looks}, "--filters");
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  // Homogeneous field and step edge: sigma0 0.02 (-17 dB) and 0.2 (-7 dB).
  const int64_t n = options.field_size;
  synth::Rng rng(options.seed, "bench speckle");
  const io::FloatRaster flat_sigma0(n, n, 0.05f);
  const io::FloatRaster field = speckled(flat_sigma0, options.looks, rng);
  io::FloatRaster step_sigma0(n, n, 0.02f);
  for (int64_t y = 0; y < n; ++y)
    for (int64_t x = n / 2; x < n; ++x)
      step_sigma0.at(y, x) = 0.2f;
  const io::FloatRaster step = speckled(step_sigma0, options.looks, rng);
  const io::Raster<uint8_t> inner = inner_mask(n, n, 8);

  // A simulated scene with its speckle-free HH sigma0.
  synth::SynthSpec spec;
  const auto [height, width] = parse_size(options.scene_size, "--scene-size");
  spec.height = height;
  spec.width = width;
  spec.looks = options.looks;
  spec.seed = options.seed;
  synth::validate(spec);
  synth::SynthTruth truth;
  const io::Scene scene = synth::generate_scene(spec, &truth);
  io::FloatRaster hh = scene.band("hh_db").pixels;
  for (auto& v : hh.data)
    v = static_cast<float>(std::pow(10.0, v / 10.0));
  const io::Raster<uint8_t> homogeneous = homogeneous_mask(truth.hh_sigma0);
  int64_t homogeneous_pixels = 0;
  for (auto v : homogeneous.data)
    homogeneous_pixels += v;

  std::printf("machine: %s; %d filter threads\n", cpu_description().c_str(), threads);
  std::printf(
      "speckle: %g looks (gamma on intensity); window %lld (refined_lee 7); field %lldx%lld; "
      "scene %dx%d winter seed %llu, %lld homogeneous pixels (sigma0 CV < 3 %% over 7x7)\n\n",
      options.looks, static_cast<long long>(options.window), static_cast<long long>(n),
      static_cast<long long>(n), height, width, static_cast<unsigned long long>(options.seed),
      static_cast<long long>(homogeneous_pixels));
  std::printf(
      "| filter | ENL field | ratio mean field | mean kept field | ENL scene | ratio mean scene | "
      "edge retention | Mpx/s |\n|---|---|---|---|---|---|---|---|\n");
  std::vector<FilterRow> rows;
  const double true_step = 0.2 - 0.02;
  for (const auto& name : filters) {
    const io::SpeckleFilterSpec filter{name, options.window, options.looks};
    FilterRow row;
    row.filter = name;
    const io::FloatRaster f = io::filter_intensity(field, {}, filter, threads);
    row.field_enl = io::equivalent_looks(f, inner);
    row.field_ratio_mean = io::mean_ratio(field, f, inner);
    row.field_mean_kept = masked_mean(f, inner) / masked_mean(field, inner);
    const io::FloatRaster e = io::filter_intensity(step, {}, filter, threads);
    row.edge_retention = (column_mean(e, n / 2) - column_mean(e, n / 2 - 1)) / true_step;
    io::FloatRaster s;
    double best = 1e30;
    for (int k = 0; k < options.repeat; ++k) {
      const auto start = std::chrono::steady_clock::now();
      s = io::filter_intensity(hh, scene.valid, filter, threads);
      best = std::min(
          best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    row.scene_enl = io::equivalent_looks(divided(s, truth.hh_sigma0), homogeneous);
    row.scene_ratio_mean = io::mean_ratio(hh, s, homogeneous);
    row.seconds = best;
    row.megapixels_per_second =
        name == "none" ? std::nan("") : static_cast<double>(height) * width / 1e6 / best;
    std::printf("| %s | %.1f | %.4f | %.4f | %.1f | %.4f | %.3f | %.1f |\n", name.c_str(),
                row.field_enl, row.field_ratio_mean, row.field_mean_kept, row.scene_enl,
                row.scene_ratio_mean, row.edge_retention, row.megapixels_per_second);
    rows.push_back(row);
  }
  std::printf(
      "\nENL: mean^2/variance (field: of the filtered intensity; scene: of filtered / sigma0 where "
      "sigma0 is homogeneous). Ratio mean: mean of original / filtered. Mean kept: filtered mean "
      "/ original mean. Edge retention: filtered step between the two columns either side of a "
      "10 dB edge / true step. Mpx/s: one HH band of the scene, best of %d.\n",
      options.repeat);
  if (!options.json.empty()) {
    nlohmann::json j;
    j["machine"] = cpu_description();
    j["threads"] = threads;
    j["looks"] = options.looks;
    j["window"] = options.window;
    j["field_size"] = n;
    j["scene_size"] = options.scene_size;
    j["homogeneous_pixels"] = homogeneous_pixels;
    for (const auto& r : rows)
      j["filters"].push_back(
          {{"filter", r.filter},
           {"field_enl", r.field_enl},
           {"field_ratio_mean", r.field_ratio_mean},
           {"field_mean_kept", r.field_mean_kept},
           {"scene_enl", r.scene_enl},
           {"scene_ratio_mean", r.scene_ratio_mean},
           {"edge_retention", r.edge_retention},
           {"seconds", r.seconds},
           {"megapixels_per_second", std::isfinite(r.megapixels_per_second)
                                         ? nlohmann::json(r.megapixels_per_second)
                                         : nlohmann::json()}});
    write_file_atomically(options.json, j.dump(1) + "\n");
  }
}

void add_bench_speckle(CLI::App& root) {
  auto options = std::make_shared<BenchSpeckleOptions>();
  auto* cmd = bench_command(root).add_subcommand(
      "speckle",
      "each speckle filter on simulated speckle: ENL, ratio-image mean, edge retention, Mpx/s");
  cmd->add_option("--field-size", options->field_size,
                  "side of the homogeneous field and of the step-edge field");
  cmd->add_option("--scene-size", options->scene_size, "simulated scene HEIGHTxWIDTH");
  cmd->add_option("--looks", options->looks, "equivalent number of looks of the speckle");
  cmd->add_option("--window", options->window, "filter window (refined_lee is always 7)");
  cmd->add_option("--filter-threads", options->threads, "threads over rows (0 = every core)");
  cmd->add_option("--repeat", options->repeat, "timed runs per filter (the best counts)");
  cmd->add_option("--seed", options->seed, "seed of the speckle and the scene");
  cmd->add_option("--filters", options->filters, "filters to measure (default: all)");
  cmd->add_option("--json", options->json, "also write the figures to this JSON file");
  cmd->callback([options] { run_bench_speckle(*options); });
}

const CommandRegistration kRegistration{96, "bench speckle", add_bench_speckle};

}  // namespace
}  // namespace sarseg::cli
