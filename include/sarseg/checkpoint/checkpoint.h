// Checkpoints: everything needed to resume training exactly, and everything inference and scoring
// need. Written by training, read by training (resume) and inference; neither links the other.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "sarseg/data/normalization.h"
#include "sarseg/data/task.h"
#include "sarseg/eval/scoring.h"
#include "sarseg/models/model.h"

namespace sarseg::checkpoint {

// ---- the checkpoint file (a torch archive) ------------------------------------------------
// Keys: "sarseg_checkpoint" (format version), "meta" (JSON text: model spec, normalisation, tasks,
// scoring, epoch, the resolved config YAML and the trainer state), "model" (parameters and
// buffers), "optimizer" (optional), "torch_rng" (the default CPU generator state).
// After the archive (format 2 on): "\nSARSEG-SHA256:" + the SHA-256 of the archive bytes (hex)
// + "\n", so that a truncated or bit-flipped file is refused instead of loaded
// (docs/reliability.md). Format 1 files (no checksum) are still read.

inline constexpr int kCheckpointVersion = 2;

struct CheckpointMeta {
  models::ModelSpec spec;
  data::Normalization normalization;
  std::vector<data::TaskSpec> tasks;
  // How the model's class maps are scored: head labels, classes, the ignored label. Checkpoints
  // written before it was recorded get it from their tasks, with no ignored label.
  eval::ScoringSpec scoring;
  int64_t epoch = 0;        // completed epochs
  std::string config_yaml;  // the resolved training config
  std::string state_json;   // trainer state: schedules, early stopping, history ("{}" if none)
  // Temperature scaling, one per head (1 for regression heads), fitted on the validation scenes
  // at the end of training; empty when not fitted (older checkpoints, unfinished runs).
  std::vector<double> temperatures;
};

// The scoring of a model trained on `tasks` with `ignore_label` (-1 = none).
eval::ScoringSpec scoring_of_tasks(const std::vector<data::TaskSpec>& tasks, int ignore_label);

// The checkpoint path of a run directory ("best" or "last"), or `path` itself when it is a file.
std::filesystem::path resolve_checkpoint_path(const std::filesystem::path& checkpoint_or_run_dir,
                                              const std::string& which = "best");

// Writes atomically (temporary file, fsync, rename): a crash leaves the previous file intact.
void save_checkpoint(const std::filesystem::path& path, const CheckpointMeta& meta,
                     torch::nn::Module& model, const torch::optim::Optimizer* optimizer);

// "" when `path` is a complete checkpoint whose recorded checksum matches (or a format 1 file that
// loads), else the one-line reason it cannot be used (missing, damaged, not a checkpoint).
std::string checkpoint_damage(const std::filesystem::path& path);

// UserError naming the file when it is missing, damaged (checksum) or not a sarseg checkpoint.
CheckpointMeta read_checkpoint_meta(const std::filesystem::path& path);
// Loads weights (and the optimizer state and torch RNG state when given) onto `device`.
void load_checkpoint_state(const std::filesystem::path& path, torch::nn::Module& model,
                           torch::optim::Optimizer* optimizer, bool restore_rng,
                           const torch::Device& device = torch::kCPU);

std::string model_spec_to_json(const models::ModelSpec& spec);
models::ModelSpec model_spec_from_json(const std::string& text, const std::string& where);

}  // namespace sarseg::checkpoint
