// `sarseg bench predict`: megapixels/s and peak resident memory of whole-scene prediction on
// synthetic scenes (random bands, random or checkpoint weights), at one or several sizes so that
// the growth of time and memory with the scene is visible.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "commands.h"
#include "inference_cli.h"
#include "sarseg/infer/checkpoint_loader.h"
#include "sarseg/util/error.h"
#include "sarseg/util/process.h"
#include "sarseg/util/strings.h"
#include "sarseg/util/torch_runtime.h"

namespace sarseg::cli {
namespace {

struct BenchPredictOptions {
  std::string checkpoint;
  std::string encoder = "resnet18";
  std::string decoder = "deeplabv3";
  int64_t bands = 3;
  int64_t classes = 6;
  std::vector<std::string> sizes = {"5000x5000"};
  int repeat = 1;
  int64_t members = 1;  // random-weight ensemble members (seeds 1..N), averaged with uncertainty
  infer::InferenceOptions inference;
};

// Resets the kernel's resident-set high-water mark (VmHWM) so that each size gets its own peak;
// false where /proc/self/clear_refs is not writable.
bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  if (!clear) return false;
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

// VmHWM of /proc/self/status in bytes (the peak since the last reset), or peak_rss_bytes().
int64_t peak_rss_since_reset() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (starts_with(line, "VmHWM:")) return std::stoll(trim(line.substr(6))) * 1024;
  return peak_rss_bytes();
}

io::Scene synthetic_scene(int64_t height, int64_t width, const std::vector<std::string>& bands) {
  io::Scene scene;
  scene.id = "bench_" + std::to_string(height) + "x" + std::to_string(width);
  scene.height = height;
  scene.width = width;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const auto& name : bands) {
    // Units left unset: the values only time the model, whatever units a checkpoint was trained on.
    io::Band band{name, "", io::FloatRaster(height, width)};
    for (auto& v : band.pixels.data)
      v = normal(rng);
    scene.bands.push_back(std::move(band));
  }
  return scene;
}

void run_bench_predict(const BenchPredictOptions& options) {
  infer::validate(options.inference);
  require(options.repeat >= 1, "--repeat must be at least 1");
  std::vector<std::pair<int64_t, int64_t>> sizes;
  for (const auto& text : options.sizes)
    for (const auto& part : split(text, ','))
      if (!trim(part).empty()) sizes.push_back(parse_size(trim(part), "--size"));
  require(!sizes.empty(), "--size names no size; give e.g. 5000x5000 or 1000,2500,5000");
  // Ascending, so that each size's peak is its own even where the high-water mark cannot be reset.
  std::sort(sizes.begin(), sizes.end(),
            [](auto a, auto b) { return a.first * a.second < b.first * b.second; });

  models::SegmentationModel model{nullptr};
  data::Normalization normalization;
  std::vector<std::string> head_labels;
  std::string what;
  require(options.members >= 1, "--members must be at least 1");
  require(options.members == 1 || options.checkpoint.empty(),
          "--members builds random-weight members; drop --checkpoint (or time one checkpoint)");
  std::vector<models::SegmentationModel> extra_members;
  if (!options.checkpoint.empty()) {
    auto bundle = infer::load_inference_bundle(options.checkpoint);
    model = bundle.model;
    normalization = bundle.normalization;
    head_labels = bundle.head_labels;
    what = bundle.path.string() + " (" + models::model_label(bundle.spec) + ")";
  } else {
    models::ModelSpec spec;
    spec.encoder = options.encoder;
    spec.decoder = options.decoder;
    spec.in_channels = options.bands;
    spec.heads = {models::HeadSpec{"classes", options.classes, false}};
    model = models::build_model(spec);
    model->eval();
    for (int64_t m = 1; m < options.members; ++m) {
      spec.seed = static_cast<uint64_t>(m + 1);
      extra_members.push_back(models::build_model(spec));
      extra_members.back()->eval();
    }
    const char* names[] = {"hh_db", "hv_db", "incidence_deg", "distance_map"};
    for (int64_t b = 0; b < options.bands; ++b) {
      normalization.bands.push_back(b < 4 ? names[b] : "band" + std::to_string(b + 1));
      normalization.mean.push_back(0.0);
      normalization.std.push_back(1.0);
    }
    head_labels = {"classes"};
    what = models::model_label(model->spec()) + " (random weights)";
    if (options.members > 1)
      what += ", ensemble of " + std::to_string(options.members) + " (seeds 1.." +
              std::to_string(options.members) +
              "; mean probabilities, entropy and mutual information)";
  }
  std::vector<infer::ScenePredictor> members{
      infer::ScenePredictor(model, normalization, head_labels, options.inference)};
  for (const auto& member : extra_members)
    members.emplace_back(member, normalization, head_labels, options.inference);
  const infer::ScenePredictor& predictor = members.front();
  const infer::EnsemblePredictor ensemble(members);
  const bool uncertainty = options.members > 1;

  std::printf("sarseg bench predict: %s, %lld bands\n", what.c_str(),
              static_cast<long long>(normalization.bands.size()));
  std::printf("machine: %s, %d torch threads, LibTorch %s\n", cpu_description().c_str(),
              torch_threads(), torch_version().c_str());
  std::printf("options: %s\n", infer::to_json(options.inference).dump().c_str());
  std::printf("arithmetic: %s\n", infer::resolve_arithmetic(options.inference).description.c_str());
  if (predictor.folded_batchnorms() > 0)
    std::printf("folded %d BatchNorm layers\n", predictor.folded_batchnorms());

  std::printf("\n| size | Mpx | tiles | seconds | Mpx/s | in model | peak RSS | scene data |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  const int64_t multiple = std::max<int64_t>(1, model->size_multiple());
  const auto planned_tile = [&](int64_t length) {
    const int64_t padded = (length + multiple - 1) / multiple * multiple;
    if (options.inference.tile <= 0) return padded;
    return infer::plan_axis(padded, options.inference.tile, options.inference.overlap, multiple)
        .tile;
  };
  for (const auto& [height, width] : sizes) {
    // Warm-up, untimed: one tile of the shape this size runs (oneDNN creates its primitives per
    // input shape on first use), as the reference does.
    ensemble.predict(
        synthetic_scene(planned_tile(height), planned_tile(width), normalization.bands), false,
        uncertainty);
    const bool reset = reset_peak_rss();
    double best = 1e300, best_model_share = 0;
    int64_t tiles = 0;
    const io::Scene scene = synthetic_scene(height, width, normalization.bands);
    for (int r = 0; r < options.repeat; ++r) {
      const auto start = std::chrono::steady_clock::now();
      const auto out = ensemble.predict(scene, false, uncertainty);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (seconds < best) {
        best = seconds;
        best_model_share = out.model_seconds / out.seconds;
      }
      tiles = out.tiles;
    }
    const double megapixels = static_cast<double>(height * width) / 1e6;
    const int64_t peak = reset ? peak_rss_since_reset() : peak_rss_bytes();
    const double scene_bytes = static_cast<double>(height * width) *
                               static_cast<double>(normalization.bands.size()) * sizeof(float);
    std::printf("| %lldx%lld | %.2f | %lld | %.2f | %.3f | %.0f%% | %s%s | %s |\n",
                static_cast<long long>(height), static_cast<long long>(width), megapixels,
                static_cast<long long>(tiles), best, megapixels / best, 100.0 * best_model_share,
                format_bytes(static_cast<double>(peak)).c_str(), reset ? "" : " (process)",
                format_bytes(scene_bytes).c_str());
    std::fflush(stdout);
  }
}

void add_bench_predict_command(CLI::App& root) {
  auto options = std::make_shared<BenchPredictOptions>();
  auto* app = bench_command(root).add_subcommand(
      "predict", "whole-scene prediction: megapixels/s and peak resident memory");
  app->add_option("--checkpoint", options->checkpoint,
                  "checkpoint to run (default: a random-weight model from --encoder/--decoder)");
  app->add_option("--encoder", options->encoder, "encoder of the random-weight model");
  app->add_option("--decoder", options->decoder, "decoder of the random-weight model");
  app->add_option("--bands", options->bands, "input bands of the random-weight model")
      ->check(CLI::Range(1, 64));
  app->add_option("--classes", options->classes, "classes of the random-weight model")
      ->check(CLI::Range(1, 255));
  app->add_option("--size", options->sizes,
                  "scene sizes HxW or N (square), comma-separated or repeated, e.g. 1000,2500,5000")
      ->delimiter(',');
  app->add_option("--repeat", options->repeat, "timed runs per size (the fastest is reported)");
  app->add_option("--members", options->members,
                  "random-weight ensemble members averaged per tile, with predictive entropy and "
                  "mutual information (as sarseg predict with several checkpoints)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  add_inference_options(*app, options->inference);
  app->callback([options] { run_bench_predict(*options); });
}

const CommandRegistration kRegistration{94, "bench predict", add_bench_predict_command};

}  // namespace
}  // namespace sarseg::cli
