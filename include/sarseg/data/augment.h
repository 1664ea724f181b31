// Patch extraction and augmentation in plain C++ (run in loader threads, no torch ops).
//
// Flips and 90-degree rotations permute pixels exactly; scaling crops a (patch / s)-sized window
// around the same centre and resamples it to the patch size (bilinear input, nearest labels).
#pragma once

#include <cstdint>
#include <vector>

#include "sarseg/data/dataset.h"
#include "sarseg/data/random.h"

namespace sarseg::data {

struct AugmentOptions {
  bool flips = false;
  bool rot90 = false;
  double scale = 0.0;  // zoom factor drawn in [1 - scale, 1 + scale]; 0 = off
  bool enabled() const { return flips || rot90 || scale > 0.0; }
};

struct AugmentDraw {
  bool flip_rows = false;  // up-down
  bool flip_cols = false;  // left-right
  int rot90 = 0;           // counter-clockwise quarter turns, 0..3
  double zoom = 1.0;
};

AugmentDraw draw_augment(const AugmentOptions& options, Rng& rng);

// A square crop as plain arrays.
struct Patch {
  int64_t size = 0, channels = 0;
  std::vector<float> input;                  // channels x size x size
  std::vector<std::vector<uint8_t>> labels;  // per task, size x size
};

// Crop of `crop` x `crop` pixels at (row, col); the window must lie inside the scene.
Patch extract_patch(const SceneWindows& scene, int64_t row, int64_t col, int64_t crop);
// Flips then rotates, in place (square patches).
void flip_rotate(Patch& patch, bool flip_rows, bool flip_cols, int rot90);
// Resamples to `size` x `size`: bilinear (align_corners=false) for input, nearest for labels.
Patch resize_patch(const Patch& patch, int64_t size);

// The full augmented sample for a patch location: zoom window, resample, flip, rotate.
Patch make_sample(const SceneWindows& scene, int64_t row, int64_t col, int64_t patch_size,
                  const AugmentDraw& draw);

// CutMix (Yun et al., 2019) for segmentation: a box of another training sample replaces the same
// box of this one, in the input and in every target alike, so labels stay aligned with pixels.
// lambda ~ Beta(beta, beta); the box has sides patch * sqrt(1 - lambda), a uniform centre, and is
// clipped at the patch border, as in the paper's reference code.
struct CutMixOptions {
  double probability = 0.0;  // share of samples that get a box; 0 = off
  double beta = 1.0;
  bool enabled() const { return probability > 0.0; }
};

struct CutMixDraw {
  bool apply = false;
  int64_t partner = 0;  // epoch position of the sample the box comes from
  int64_t row = 0, col = 0, height = 0, width = 0;
};

// The draw for the sample at epoch position `position` of `epoch_samples`; the partner is another
// position (none when the epoch has one sample). A fixed stream of its own, so switching CutMix on
// leaves every other augmentation draw unchanged.
CutMixDraw draw_cutmix(const CutMixOptions& options, int64_t patch_size, int64_t position,
                       int64_t epoch_samples, Rng& rng);
// Copies the box of `source` into `target` (same size, channels and tasks).
void paste_box(Patch& target, const Patch& source, const CutMixDraw& box);

}  // namespace sarseg::data
