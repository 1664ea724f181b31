#include "sarseg/infer/checkpoint_loader.h"

#include "sarseg/checkpoint/checkpoint.h"

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
  return bundle;
}

io::SceneReadOptions scene_read_options(const InferenceBundle& bundle) {
  io::SceneReadOptions options;
  options.physical_units = data::wants_physical_units(bundle.normalization);
  return options;
}

ScenePredictor make_predictor(const InferenceBundle& bundle, InferenceOptions options) {
  return ScenePredictor(bundle.model, bundle.normalization, bundle.head_labels, std::move(options));
}

}  // namespace sarseg::infer
