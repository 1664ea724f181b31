// Random square patch locations with a minimum valid fraction.
//
// Two modes: `per_scene` crops from every scene (the paper: 200 per raster), or `per_epoch` crops
// each from a uniformly chosen scene (the AutoICE starter kit). Locations are a pure function of
// the seed: the trainer draws them once (the paper) or with an epoch-dependent seed each epoch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sarseg/data/dataset.h"

namespace sarseg::data {

struct PatchLocation {
  int32_t scene = 0;
  int32_t row = 0;
  int32_t col = 0;
};

struct SamplerOptions {
  int64_t patch_size = 768;
  int64_t per_scene = 200;  // used when per_epoch == 0
  int64_t per_epoch = 0;    // > 0: this many crops, each from a uniformly chosen scene
  double min_valid_fraction = 0.7;
  int64_t max_attempts_per_patch = 50;  // rejection-sampling budget before a scene is given up
};

struct SampleDraw {
  std::vector<PatchLocation> patches;
  std::vector<std::string> warnings;  // scenes too small or too empty, with counts
};

// UserError when no scene can give a single patch (too small or too little valid area).
// The same for scenes read by window (in memory or from a scene store).
SampleDraw draw_window_patches(const std::vector<const SceneWindows*>& scenes,
                               const SamplerOptions& options, uint64_t seed,
                               const std::string& split);
SampleDraw draw_patches(const std::vector<PreparedScene>& scenes, const SamplerOptions& options,
                        uint64_t seed, const std::string& split);

}  // namespace sarseg::data
