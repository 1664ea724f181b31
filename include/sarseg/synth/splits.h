// Train / validation / test splits of simulated scenes: the simulator as a scene source.
//
//   synth::SplitOptions options;                        // the `synth.*` config keys
//   options.seasons = {"freeze-up", "melt"};
//   synth::SceneSplits splits = synth::generate_splits(options);
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sarseg/io/scene.h"
#include "sarseg/util/config.h"

namespace sarseg::synth {

struct SynthSpec;

struct SplitOptions {
  std::vector<std::string> seasons = {"freeze-up", "winter", "melt"};
  int64_t train_per_season = 2;
  int64_t val_per_season = 1;
  int64_t test_per_season = 1;
  std::string size = "512";  // HxW or N
  uint64_t seed = 1;
  std::string label_mode = "chart";  // chart | pixel
};

// The `synth.*` keys and their check (seasons known, counts, size).
const config::ConfigSchema<SplitOptions>& split_options_schema();
void validate(const SplitOptions& options);

struct GeneratedSplits {
  std::vector<io::Scene> train, val, test;
};

// Every scene of split s (0 train, 1 validation, 2 test), season i and index k gets its own seed
// derived from options.seed, so adding test scenes leaves the training scenes alone.
GeneratedSplits generate_splits(const SplitOptions& options);

// The test split again with every scene's spec changed by `shift` before it is generated: the
// same ice seen in a shifted domain (other looks, noise floor, incidence range, pixel spacing).
std::vector<io::Scene> generate_shifted_test_split(const SplitOptions& options,
                                                   const std::function<void(SynthSpec&)>& shift);

}  // namespace sarseg::synth
