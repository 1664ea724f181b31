// The --set overrides of a tiny synthetic experiment, shared by the runner tests.
#pragma once

#include <string>
#include <vector>

namespace sarseg::experiment::testing {

// A few seconds per run: 64-px scenes, 32-px patches, two epochs.
inline std::vector<std::string> tiny(std::vector<std::string> extra = {}) {
  std::vector<std::string> overrides = {"synth.size=64",
                                        "synth.train_per_season=1",
                                        "synth.val_per_season=1",
                                        "synth.test_per_season=1",
                                        "data.patch_size=32",
                                        "data.patches_per_scene=4",
                                        "data.val_patches_per_scene=2",
                                        "data.min_valid_fraction=0.2",
                                        "model.decoder_channels=[16, 8, 8, 8, 8]",
                                        "train.batch_size=4",
                                        "train.min_epochs=1",
                                        "train.max_epochs=2",
                                        "experiment.seeds=[1]",
                                        "inference.tile=64",
                                        "inference.overlap=0",
                                        "experiment.quicklook_size=32",
                                        "output.progress=off"};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  return overrides;
}

}  // namespace sarseg::experiment::testing
