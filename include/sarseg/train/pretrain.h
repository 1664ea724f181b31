// Self-supervised pretraining of an encoder on unlabelled SAR scenes (docs/ssl.md).
//
//   TrainConfig config = ...;            // model.* (encoder, depth), data.bands, normalisation,
//   seed PretrainOptions options;             // the ssl.* keys: VICReg by default PretrainResult r
//   = run_pretraining(config, options, scenes, callbacks); config.model.init = r.weights.string();
//   // fine-tune from it (sarseg train, the ssl arm)
//
// Each step takes a batch of regions, makes two augmented views of each (data/sar_views.h), runs
// both through the encoder, global-average-pools the deepest stage and a small projector (Linear,
// BatchNorm, ReLU, Linear), and minimises VICReg or Barlow Twins (train/ssl_losses.h). After every
// epoch the collapse monitor embeds a fixed set of un-augmented regions and measures their
// per-dimension std and effective rank; embeddings that collapse stop the run with
// EmbeddingCollapse (a UserError: exit 2) and no weights are written.
//
// Output: a safetensors file of the encoder's tensors under "encoder.*" (what model.init takes as
// a weight file), written atomically, and beside it <stem>.json with the options, the cost and the
// monitor's trajectory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "sarseg/io/scene.h"
#include "sarseg/train/config.h"
#include "sarseg/util/config.h"
#include "sarseg/util/error.h"

namespace sarseg::train {

// Every default of pretraining (the `ssl.*` keys).
struct PretrainOptions {
  std::string objective = "vicreg";  // vicreg | barlow
  // Encoder start: random, imagenet, a weight-set name or a weight file (as model.init).
  std::string init = "random";
  std::string output = "runs/pretrain/encoder.safetensors";
  bool overwrite = false;
  int64_t epochs = 20;
  int64_t samples_per_epoch = 512;  // regions per epoch, two views each
  int64_t batch_size = 32;          // regions per step
  double lr = 1e-3;                 // AdamW, cosine decay to 0 over the run
  double weight_decay = 1e-4;
  double grad_clip_norm = 1.0;  // 0 = off
  // Views (data/sar_views.h).
  int64_t region_size = 96;  // side of the region both views are cut from
  int64_t view_size = 64;    // side of a view (the encoder input)
  double min_crop_fraction = 0.5;
  bool flips = true;
  bool rot90 = true;
  double gain_db = 1.0;
  double speckle_looks = 4.0;
  // Projector: Linear(encoder channels, hidden), BatchNorm, ReLU, Linear(hidden, dim).
  int64_t projector_hidden = 256;
  int64_t projector_dim = 256;
  // VICReg coefficients (the paper's: 25, 25, 1) and Barlow Twins' lambda (0.0051).
  double vicreg_invariance = 25.0;
  double vicreg_variance = 25.0;
  double vicreg_covariance = 1.0;
  double barlow_lambda = 0.0051;
  // Collapse monitor.
  int64_t monitor_samples = 128;  // fixed regions embedded after every epoch
  double collapse_min_normalised_std = 0.05;
  double collapse_min_effective_rank = 1.5;
  // data.source=synthetic (sarseg pretrain, the ssl arm): extra simulated scenes per season used
  // without their labels, besides the training scenes.
  int64_t synthetic_unlabelled_per_season = 0;
};

const config::ConfigSchema<PretrainOptions>& pretrain_options_schema();
void validate(const PretrainOptions& options);

struct EmbeddingSummary {
  double mean_std = 0;
  double min_std = 0;
  double normalised_std = 0;
  double effective_rank = 0;
  int64_t dimensions = 0;
};

// One epoch (epoch 0: the monitor before any training step).
struct PretrainEpoch {
  int64_t epoch = 0;
  double loss = 0;
  double invariance = 0;  // the objective's parts (ssl_losses.h SslLossTerms)
  double variance = 0;
  double covariance = 0;
  double lr = 0;
  double seconds = 0;  // training time of the epoch
  double samples_per_second = 0;
  int64_t samples_seen = 0;           // regions since the start (two views each)
  EmbeddingSummary embedding;         // projector output: what the collapse monitor judges
  EmbeddingSummary representation;    // pooled encoder output: what fine-tuning inherits
  std::vector<double> embedding_std;  // per-dimension std of the projector output
};

struct PretrainProgress {
  int64_t epoch = 0;
  int64_t epochs = 0;
  int64_t batch = 0;
  int64_t batches = 0;
  double mean_loss = 0;
  double samples_per_second = 0;
};

// A fault for the collapse negative control: kConstantInput replaces the batch (or, with batch
// 0, the monitor's regions) by zeros, so the encoder's output is the same for every sample.
enum class PretrainFault { kNone, kConstantInput };

struct PretrainCallbacks {
  std::function<void(const PretrainEpoch&)> on_epoch_end;
  std::function<void(const PretrainProgress&)> on_progress;
  std::function<PretrainFault(int64_t epoch, int64_t batch)> inject_fault;
};

struct PretrainResult {
  std::filesystem::path weights;  // the encoder weights (model.init)
  std::filesystem::path record;   // <stem>.json beside them
  std::string encoder;
  std::string objective;
  std::string init;
  int64_t scenes = 0;
  int64_t epochs = 0;
  int64_t samples_seen = 0;            // regions (pairs of views)
  double wall_seconds = 0;             // the whole run: preparation, training, monitor, writing
  double train_seconds = 0;            // training steps only
  std::vector<PretrainEpoch> history;  // epoch 0 first
};

// Embeddings that collapsed: exit 2 (the cure is in the options), no weights written.
class EmbeddingCollapse : public UserError {
 public:
  using UserError::UserError;
};

// The scene files of data.unlabelled (empty list: none).
std::vector<io::Scene> load_unlabelled_scenes(const TrainConfig& config);

// Pretrains config.model's encoder (encoder, encoder_depth, bands as in fine-tuning) on `scenes`
// (labels, if any, are not read) with config.data.bands, data.normalization (computed on these
// scenes), data.min_valid_fraction, train.seed and train.device. UserError before any training
// when there is no scene, a scene lacks a band, no region fits, the output exists without
// ssl.overwrite, or an option is out of range.
PretrainResult run_pretraining(const TrainConfig& config, const PretrainOptions& options,
                               const std::vector<io::Scene>& scenes,
                               const PretrainCallbacks& callbacks = {});

// The record <stem>.json of a finished pretraining (the cost and trajectory, without the
// per-dimension stds); UserError when missing or malformed.
PretrainResult read_pretrain_record(const std::filesystem::path& weights);
std::filesystem::path pretrain_record_path(const std::filesystem::path& weights);

}  // namespace sarseg::train
