// Scene sources by name (data.source) and the configuration of one training job: the training
// keys plus the settings of the sources (`synth.*`). `sarseg train`, `sarseg bench train` and the
// experiment hand training the scenes these make; training itself links no source.
//
//   auto job = experiment::load_train_job("configs/train/quick.yaml", {"synth.size=256"});
//   auto scenes = experiment::load_scenes(job.train, job.synth);
//   train::run_training(job.train, callbacks, &scenes);
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sarseg/data/scene_source.h"
#include "sarseg/synth/splits.h"
#include "sarseg/train/config.h"
#include "sarseg/util/config.h"

namespace sarseg::experiment {

struct TrainJob {
  train::TrainConfig train;
  synth::SplitOptions synth;  // data.source=synthetic
};

// Every training key and every `synth.*` key, with the checks of both.
const config::ConfigSchema<TrainJob>& train_job_schema();
// Defaults, then the YAML file (when given), then the overrides, then validation.
TrainJob load_train_job(const std::optional<std::filesystem::path>& file,
                        const std::vector<std::string>& overrides);
// The job a training run was started with: its config.yaml (training and source keys), with
// output.dir = run_dir. UserError naming the file when it is missing.
TrainJob saved_train_job(const std::filesystem::path& run_dir);

// "files", "synthetic".
std::vector<std::string> scene_source_names();
// The scenes of the source data.source names (UserError listing the names otherwise), with the
// source's settings in SceneSplits::source_yaml.
data::SceneSplits load_scenes(const train::TrainConfig& train, const synth::SplitOptions& synth);

}  // namespace sarseg::experiment
