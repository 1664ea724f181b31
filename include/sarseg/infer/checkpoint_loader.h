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
};

// Accepts a checkpoint file or a run directory (then checkpoints/`which`). UserError naming the
// file when it is not a sarseg checkpoint.
InferenceBundle load_inference_bundle(const std::filesystem::path& checkpoint_or_run_dir,
                                      const std::string& which = "best");

// How to read scenes for this model: netCDF values in the units it was trained on (z-scores or
// dB / degrees).
io::SceneReadOptions scene_read_options(const InferenceBundle& bundle);

ScenePredictor make_predictor(const InferenceBundle& bundle, InferenceOptions options = {});

}  // namespace sarseg::infer
