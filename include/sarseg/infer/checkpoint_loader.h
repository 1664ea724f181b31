// A checkpoint made ready for inference and scoring.
//
//   auto bundle = infer::load_inference_bundle("runs/q1");          // run dir or .pt file
//   infer::ScenePredictor predictor = infer::make_predictor(bundle, options);
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sarseg/data/normalization.h"
#include "sarseg/eval/scoring.h"
#include "sarseg/infer/inference.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/models/model.h"

namespace sarseg::infer {

// What eval/predict/experiment need from a checkpoint.
struct InferenceBundle {
  models::SegmentationModel model{nullptr};  // eval mode, CPU
  models::ModelSpec spec;
  data::Normalization normalization;     // bands in input-channel order
  std::vector<std::string> head_labels;  // scene label each head predicts, e.g. "SOD"
  eval::ScoringSpec scoring;             // how its class maps are scored (ignore label, classes)
  int64_t epoch = 0;
  std::filesystem::path path;
  std::vector<double> temperatures;  // per head, fitted at the end of training; empty if none
};

// Accepts a checkpoint file or a run directory (then checkpoints/`which`). UserError naming the
// file when it is not a sarseg checkpoint.
InferenceBundle load_inference_bundle(const std::filesystem::path& checkpoint_or_run_dir,
                                      const std::string& which = "best");

// How to read scenes for this model: netCDF values in the units it was trained on (z-scores or
// dB / degrees).
io::SceneReadOptions scene_read_options(const InferenceBundle& bundle);

// With options.calibrated: UserError when the checkpoint has no fitted temperature.
ScenePredictor make_predictor(const InferenceBundle& bundle, InferenceOptions options = {});

// The checkpoints of an ensemble: each entry is a checkpoint file, a run directory (its
// checkpoints/`which`.pt) or a folder of run directories (an experiment arm: every subfolder with
// checkpoints/`which`.pt, in name order). UserError when an entry is none of these or nothing
// is found.
std::vector<std::filesystem::path> ensemble_checkpoints(
    const std::vector<std::filesystem::path>& entries, const std::string& which = "best");

// Bundles of the members and their predictor. UserError when they read scenes differently
// (physical units vs z-scores) or predict different heads.
struct EnsembleBundle {
  std::vector<InferenceBundle> members;
  EnsemblePredictor predictor;
};
EnsembleBundle load_ensemble(const std::vector<std::filesystem::path>& checkpoints,
                             const InferenceOptions& options);

}  // namespace sarseg::infer
