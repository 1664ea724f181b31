// The experiment configuration: the training configuration (every train key, same names), an
// `experiment.*` section and the `inference.*` options of the test-scene predictions, loaded in
// layers:
//   train defaults (the paper's protocol) -> profile (embedded YAML: quick, paper, autoice; or
//   "none") -> --config FILE -> --set KEY=VALUE overrides -> validation.
//
// Arms: "imagenet" (encoder from its ImageNet weight set), "random" (torchvision's init), "ssl"
// (encoder from self-supervised pretraining on the scenes without labels, experiment/ssl.h), or
// "NAME:INIT[:FREEZE_EPOCHS]" where INIT is anything model.init accepts (random, imagenet, a
// weight-set name, a weight file) and FREEZE_EPOCHS (or "all") keeps the encoder frozen for that
// many epochs, e.g. "frozen:imagenet:all".
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sarseg/infer/options.h"
#include "sarseg/synth/splits.h"
#include "sarseg/train/config.h"
#include "sarseg/train/pretrain.h"
#include "sarseg/util/config.h"

namespace sarseg::experiment {

struct ArmSpec {
  std::string name;
  std::string init = "random";
  int64_t freeze_encoder_epochs = 0;
  std::string description;
};

struct ExperimentSection {
  std::string name = "experiment";  // default output folder name: runs/<name>
  std::vector<std::string> arms = {"imagenet", "random"};
  std::vector<int64_t> seeds = {1, 2, 3, 4, 5};
  std::string reference_arm = "imagenet";  // paired differences are reference - baseline
  std::string baseline_arm = "random";
  // Each of these seasons needs at least one test scene (checked before any training).
  std::vector<std::string> test_seasons = {"freeze-up", "melt"};
  std::vector<std::string> evaluate = {"last", "best"};  // weights evaluated on the test scenes
  int64_t quicklooks_per_season = 1;  // test scenes shown in the report per season
  int64_t quicklook_size = 320;       // longest side of a quicklook in pixels
  // Label efficiency: every arm and seed again on these shares (0, 1] of the labelled training
  // scenes, a nested seeded choice per season (label_efficiency.h); [] = full labels only.
  std::vector<double> label_fractions = {};
  // data.test_domains: "NAME: SCENES" per test domain besides the season (test_domains.h).
  std::vector<std::string> test_domains = {};
  // The speckle-filter axis (experiment/speckle_axis.h): every run once per filter; empty = no
  // axis, every run with data.speckle_filter.
  std::vector<std::string> speckle_filters = {};
};

struct ExperimentConfig {
  train::TrainConfig train;
  synth::SplitOptions synth;  // the simulated scenes of data.source=synthetic
  ExperimentSection experiment;
  infer::InferenceOptions inference;  // how the test scenes are predicted
  train::PretrainOptions ssl;         // the ssl arm's pretraining (ssl.output is not used)
};

const config::ConfigSchema<ExperimentConfig>& experiment_config_schema();

// Names of the embedded profiles ("quick", "paper", "autoice"), and their YAML text.
std::vector<std::string> profile_names();
// UserError listing the profiles when `name` is unknown.
const std::string& profile_yaml(const std::string& name);

// The layers above; profile "none" starts from the train defaults alone.
ExperimentConfig load_experiment_config(const std::string& profile,
                                        const std::optional<std::filesystem::path>& file,
                                        const std::vector<std::string>& overrides);
void validate(const ExperimentConfig& config);

// "imagenet", "random", "ssl" or "NAME:INIT[:FREEZE_EPOCHS|all]"; UserError naming `where`
// otherwise.
ArmSpec parse_arm(const std::string& text, const std::string& where, int64_t max_epochs);
std::vector<ArmSpec> arms_of(const ExperimentConfig& config);

// The training configuration of one run: identical for every arm of a seed except model.init and
// model.freeze_encoder_epochs (so splits, crops and batch order are the same), seeded by `seed`,
// writing into `run_dir`, without its own progress bar when `quiet`.
train::TrainConfig run_config(const ExperimentConfig& config, const ArmSpec& arm, int64_t seed,
                              const std::filesystem::path& run_dir);

}  // namespace sarseg::experiment
