// Checkpoints: everything needed to resume training exactly, and everything inference needs.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "sarseg/data/normalization.h"
#include "sarseg/models/model.h"

namespace sarseg::train {

// What eval/predict/experiment need from a checkpoint.
struct InferenceBundle {
  models::SegmentationModel model{nullptr};  // eval mode, CPU
  models::ModelSpec spec;
  data::Normalization normalization;          // bands in input-channel order
  std::vector<std::string> head_labels;       // scene label each head predicts, e.g. "SOD"
  int64_t epoch = 0;
  std::filesystem::path path;
};

// Accepts a checkpoint file or a run directory (then checkpoints/best). UserError naming the
// file when it is not a sarseg checkpoint.
InferenceBundle load_inference_bundle(const std::filesystem::path& checkpoint_or_run_dir);

}  // namespace sarseg::train
