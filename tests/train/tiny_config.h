// The tiny synthetic training configuration and checkpoint reading shared by the training-loop
// tests.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "sarseg/checkpoint/checkpoint.h"
#include "sarseg/experiment/scene_sources.h"
#include "sarseg/models/model.h"
#include "sarseg/train/trainer.h"

namespace sarseg::testing {

// --set overrides for a seconds-long run: two 96-px synthetic scenes, 32-px crops, a narrow
// deeplabv3 head; `extra` is appended (later keys win).
inline std::vector<std::string> tiny_train_overrides(const std::filesystem::path& run_dir,
                                                     int epochs, int64_t seed,
                                                     const std::vector<std::string>& extra = {}) {
  std::vector<std::string> overrides = {"data.source=synthetic",
                                        "synth.seasons=winter,melt",
                                        "synth.train_per_season=1",
                                        "synth.val_per_season=1",
                                        "synth.test_per_season=0",
                                        "synth.size=96",
                                        "synth.label_mode=pixel",
                                        "data.patch_size=32",
                                        "data.patches_per_scene=4",
                                        "data.val_patches_per_scene=2",
                                        "data.min_valid_fraction=0.2",
                                        "data.flips=true",
                                        "data.rot90=true",
                                        "data.loader_threads=2",
                                        "model.aspp_channels=16",
                                        "train.batch_size=4",
                                        "train.min_epochs=1",
                                        "train.max_epochs=" + std::to_string(epochs),
                                        "train.seed=" + std::to_string(seed),
                                        "optim.lr=1e-3",
                                        "output.progress=off",
                                        "output.dir=" + run_dir.string()};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  return overrides;
}

// The job of `overrides` (training and simulator keys) and the scenes its source makes.
inline experiment::TrainJob tiny_job(const std::vector<std::string>& overrides) {
  return experiment::load_train_job(std::nullopt, overrides);
}
inline data::SceneSplits tiny_scenes(const experiment::TrainJob& job) {
  return experiment::load_scenes(job.train, job.synth);
}

// Trains the job of `overrides` on its scenes, as `sarseg train` does.
inline train::TrainResult train_tiny(const std::vector<std::string>& overrides,
                                     const train::TrainCallbacks& callbacks = {}) {
  const auto job = tiny_job(overrides);
  const auto scenes = tiny_scenes(job);
  return train::run_training(job.train, callbacks, &scenes);
}

// Resumes the run in `run_dir` on the scenes of its saved job, as `sarseg train --resume` does.
inline train::TrainResult resume_tiny(const std::filesystem::path& run_dir,
                                      const train::TrainCallbacks& callbacks = {}) {
  const auto job = experiment::saved_train_job(run_dir);
  const auto scenes = tiny_scenes(job);
  return train::resume_training(run_dir, callbacks, &scenes);
}

// Every parameter and buffer of a checkpoint, by name.
inline std::vector<std::pair<std::string, torch::Tensor>> checkpoint_tensors(
    const std::filesystem::path& path) {
  const auto meta = checkpoint::read_checkpoint_meta(path);
  auto spec = meta.spec;
  spec.init = "random";
  auto model = models::build_model(spec);
  checkpoint::load_checkpoint_state(path, *model, nullptr, false);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : model->named_parameters())
    out.emplace_back(item.key(), item.value().detach().clone());
  for (const auto& item : model->named_buffers())
    out.emplace_back(item.key(), item.value().detach().clone());
  return out;
}

}  // namespace sarseg::testing
