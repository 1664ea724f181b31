#include "sarseg/infer/checkpoint_loader.h"

#include <algorithm>
#include <system_error>

#include "sarseg/checkpoint/checkpoint.h"
#include "sarseg/util/error.h"

namespace sarseg::infer {

InferenceBundle load_inference_bundle(const std::filesystem::path& checkpoint_or_run_dir,
                                      const std::string& which) {
  const auto path = checkpoint::resolve_checkpoint_path(checkpoint_or_run_dir, which);
  const checkpoint::CheckpointMeta meta = checkpoint::read_checkpoint_meta(path);
  InferenceBundle bundle;
  bundle.spec = meta.spec;
  // Weights come from the checkpoint: no weight file is needed to rebuild the encoder.
  bundle.spec.init = "random";
  bundle.model = models::build_model(bundle.spec);
  checkpoint::load_checkpoint_state(path, *bundle.model, nullptr, false, torch::kCPU);
  bundle.model->eval();
  bundle.spec = meta.spec;
  bundle.normalization = meta.normalization;
  for (const auto& task : meta.tasks)
    bundle.head_labels.push_back(task.label);
  bundle.scoring = meta.scoring;
  bundle.epoch = meta.epoch;
  bundle.path = path;
  bundle.temperatures = meta.temperatures;
  return bundle;
}

io::SceneReadOptions scene_read_options(const InferenceBundle& bundle) {
  io::SceneReadOptions options;
  options.physical_units = data::wants_physical_units(bundle.normalization);
  options.derived_bands = bundle.normalization.bands;
  return options;
}

ScenePredictor make_predictor(const InferenceBundle& bundle, InferenceOptions options) {
  require(!options.calibrated || !bundle.temperatures.empty(),
          "--calibrated: checkpoint " + bundle.path.string() +
              " has no fitted temperature (it was trained before temperature scaling was "
              "recorded, or training did not finish); drop --calibrated or train it again");
  return ScenePredictor(bundle.model, bundle.normalization, bundle.head_labels, std::move(options),
                        bundle.temperatures);
}

std::vector<std::filesystem::path> ensemble_checkpoints(
    const std::vector<std::filesystem::path>& entries, const std::string& which) {
  namespace fs = std::filesystem;
  std::vector<fs::path> found;
  for (const auto& entry : entries) {
    std::error_code error;
    if (fs::is_regular_file(entry, error) ||
        fs::is_regular_file(entry / "checkpoints" / (which + ".pt"), error)) {
      found.push_back(checkpoint::resolve_checkpoint_path(entry, which));
      continue;
    }
    require(fs::is_directory(entry, error),
            "checkpoint " + entry.string() +
                " does not exist; give a checkpoint file, a run directory or an experiment arm "
                "folder of runs");
    std::vector<fs::path> runs;
    for (const auto& child : fs::directory_iterator(entry))
      if (fs::is_regular_file(child.path() / "checkpoints" / (which + ".pt"), error))
        runs.push_back(child.path() / "checkpoints" / (which + ".pt"));
    require(!runs.empty(), entry.string() + " holds neither checkpoints/" + which +
                               ".pt nor run directories with one; give a checkpoint file, a run "
                               "directory or an experiment arm folder (e.g. out/pretrained)");
    std::sort(runs.begin(), runs.end());
    found.insert(found.end(), runs.begin(), runs.end());
  }
  require(!found.empty(), "no checkpoint given; pass --checkpoint");
  return found;
}

EnsembleBundle load_ensemble(const std::vector<std::filesystem::path>& checkpoints,
                             const InferenceOptions& options) {
  std::vector<InferenceBundle> members;
  std::vector<ScenePredictor> predictors;
  for (const auto& path : checkpoints) {
    members.push_back(load_inference_bundle(path));
    const auto& member = members.back();
    require(data::wants_physical_units(member.normalization) ==
                data::wants_physical_units(members.front().normalization),
            "checkpoints " + members.front().path.string() + " and " + member.path.string() +
                " read scenes in different units (physical vs z-scores); an ensemble needs "
                "members trained on the same input");
    predictors.push_back(make_predictor(member, options));
  }
  EnsemblePredictor predictor(std::move(predictors));
  return {std::move(members), std::move(predictor)};
}

}  // namespace sarseg::infer
