// The self-supervised SAR pretraining arm (`ssl`) and the job of `sarseg pretrain` (docs/ssl.md).
//
//   auto job = experiment::load_pretrain_job("configs/train/quick.yaml", {"ssl.epochs=5"});
//   auto scenes = experiment::pretraining_scenes(job.train, job.synth, job.ssl, nullptr);
//   auto result = train::run_pretraining(job.train, job.ssl, scenes);
//
// An experiment with an `ssl` arm pretrains once, before its first run, into
// <out>/ssl_pretraining/encoder.safetensors (kept and reused on a restart), and every seed of the
// ssl arm fine-tunes from those weights.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sarseg/data/scene_source.h"
#include "sarseg/experiment/config.h"
#include "sarseg/experiment/summary.h"
#include "sarseg/synth/splits.h"
#include "sarseg/train/config.h"
#include "sarseg/train/pretrain.h"
#include "sarseg/util/config.h"

namespace sarseg::experiment {

// What `sarseg pretrain` reads: every training key (model.*, data.* ...), the `synth.*` keys of
// data.source=synthetic and the `ssl.*` keys.
struct PretrainJob {
  train::TrainConfig train;
  synth::SplitOptions synth;
  train::PretrainOptions ssl;
};
const config::ConfigSchema<PretrainJob>& pretrain_job_schema();
PretrainJob load_pretrain_job(const std::optional<std::filesystem::path>& file,
                              const std::vector<std::string>& overrides);

// The scenes pretraining learns from, without their labels: the training scenes (`training`, or
// when null those of data.train / the simulator), the scenes of data.unlabelled and, with
// data.source=synthetic, ssl.synthetic_unlabelled_per_season extra simulated scenes per season.
std::vector<io::Scene> pretraining_scenes(const train::TrainConfig& train,
                                          const synth::SplitOptions& synth,
                                          const train::PretrainOptions& ssl,
                                          const std::vector<io::Scene>* training);

// True for the arm `ssl` (ArmSpec::init == "ssl").
bool is_ssl_arm(const ArmSpec& arm);
inline constexpr const char* kSslInit = "ssl";

// The experiment's pretrained weights: <out_dir>/ssl_pretraining/encoder.safetensors.
std::filesystem::path ssl_weights_path(const std::filesystem::path& out_dir);

// The checks of an ssl arm before anything is written: UserError (exit 2) saying what to do when
// there is no scene to pretrain on, a scene lacks a band, no scene holds an ssl.region_size
// region, or ssl.view_size does not fit the model.
void check_ssl_arm(const ExperimentConfig& config, const std::vector<io::Scene>& scenes);

// Pretrains once for the experiment on `scenes` (pretraining_scenes) or reads back the finished
// pretraining of an earlier invocation. `train_if_missing` false (--assemble, a worker without ssl
// runs): nullopt when not done yet.
std::optional<train::PretrainResult> experiment_pretraining(const ExperimentConfig& config,
                                                            const std::vector<io::Scene>& scenes,
                                                            const std::filesystem::path& out_dir,
                                                            bool train_if_missing);

// The summary's record of the pretraining cost and its collapse monitor.
PretrainingRecord pretraining_record(const train::PretrainResult& result,
                                     const std::filesystem::path& out_dir);

}  // namespace sarseg::experiment
