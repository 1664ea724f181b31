// `sarseg eval --checkpoint C SCENES...`: whole-scene tiled inference on labelled scenes, metrics
// per scene, per season and pooled, as a Markdown table (stdout) and JSON + Markdown files.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "inference_cli.h"
#include "sarseg/data/dataset.h"
#include "sarseg/infer/checkpoint_loader.h"
#include "sarseg/infer/evaluate.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::cli {
namespace {

namespace fs = std::filesystem;

struct EvalCommandOptions {
  std::string checkpoint;
  std::vector<std::string> scenes;
  std::string out;
  bool json = false;
  std::string labels;
  InferenceSettings inference_settings;
  infer::InferenceOptions inference;  // resolved from inference_settings
};

void run_eval(const EvalCommandOptions& options) {
  // A .txt or .list argument is a list file (one path per line, '#' comments, relative paths
  // from the list's folder).
  const auto files = data::expand_scene_paths(options.scenes, "sarseg eval");
  const fs::path out_dir(options.out);
  if (!options.out.empty()) ensure_output_directory(out_dir);  // before any work

  auto bundle = infer::load_inference_bundle(options.checkpoint);
  const infer::ScenePredictor predictor = infer::make_predictor(bundle, options.inference);
  io::SceneReadOptions read_options = infer::scene_read_options(bundle);
  read_options.labels_path = options.labels;
  std::fprintf(stderr, "evaluating %s (%s, epoch %lld) on %zu scene(s)\n",
               bundle.path.string().c_str(), models::model_label(bundle.spec).c_str(),
               static_cast<long long>(bundle.epoch), files.size());
  auto report = infer::evaluate_scene_files(
      predictor, bundle.scoring, files, read_options, [](const eval::EvaluationGroup& scene) {
        std::fprintf(stderr, "  %-32s %-9s %6.1f s", scene.name.c_str(), scene.season.c_str(),
                     scene.seconds);
        for (const auto& head : scene.heads)
          std::fprintf(stderr, "  %s weighted F1 %.4f", head.label.c_str(),
                       head.metrics.weighted_f1);
        std::fprintf(stderr, "\n");
      });
  report.checkpoint = bundle.path.string();

  const std::string markdown = eval::to_markdown(report);
  const std::string json = eval::to_json(report).dump(2) + "\n";
  if (!options.out.empty()) {
    write_file_atomically(out_dir / "eval.json", json);
    write_file_atomically(out_dir / "eval.md", markdown);
    std::fprintf(stderr, "wrote %s and %s\n", (out_dir / "eval.json").string().c_str(),
                 (out_dir / "eval.md").string().c_str());
  }
  std::fputs(options.json ? json.c_str() : markdown.c_str(), stdout);
}

void add_eval_command(CLI::App& root) {
  auto options = std::make_shared<EvalCommandOptions>();
  auto* app = root.add_subcommand(
      "eval", "evaluate a checkpoint on whole labelled scenes: metrics per scene, season, pooled");
  app->add_option("--checkpoint", options->checkpoint, "checkpoint file or training run directory")
      ->required();
  app->add_option("scenes", options->scenes,
                  "scene files (.nc, .tif) or .txt / .list lists of them (one path per line)")
      ->required();
  app->add_option("--out", options->out, "folder for eval.json and eval.md (none: stdout only)");
  app->add_flag("--json", options->json, "print the JSON report instead of the Markdown table");
  app->add_option("--labels", options->labels,
                  "GeoTIFF scenes: label raster (default: a sibling <name>_labels.tif)");
  add_inference_settings(*app, options->inference_settings);
  app->callback([options, app] {
    options->inference = resolve_inference_options(*app, options->inference_settings);
    run_eval(*options);
  });
}

const CommandRegistration kRegistration{50, "eval", add_eval_command};

}  // namespace
}  // namespace sarseg::cli
