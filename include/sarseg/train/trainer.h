// The training loop: scenes -> patches -> model, with validation, schedules, early stopping,
// best/last checkpoints and an exactly resumable state.
//
//   TrainConfig config = load_train_config("configs/train/quick.yaml", {});
//   TrainCallbacks callbacks;
//   callbacks.on_epoch_end = [](const EpochRecord& r) { curve.push_back(r.val_loss); };
//   TrainResult result = run_training(config, callbacks);
//   ... later, after a crash or kill:  resume_training(result.run_dir, callbacks);
//
// Run directory: config.yaml (resolved), checkpoints/{best,last}.pt, metrics.csv (one row per
// epoch), events.jsonl (one JSON object per event). Resuming restarts the interrupted epoch from
// the last checkpoint (end of the previous epoch) and, because every random draw depends only on
// (seed, epoch, index) and the RNG states are in the checkpoint, ends with the same weights as an
// uninterrupted run (same machine, same thread count).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sarseg/io/scene.h"
#include "sarseg/train/config.h"
#include "sarseg/util/error.h"

namespace sarseg::train {

// One finished epoch (what metrics.csv holds; what a learning-curve collector wants).
struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0;
  double val_loss = 0;
  std::map<std::string, double> val_metrics;  // "val_weighted_f1", "val_SOD_macro_iou", ...
  double monitored = 0;                       // value of train.monitor
  double lr = 0;                              // learning rate at the end of the epoch
  double seconds = 0;                         // training + validation wall time
  double samples_per_second = 0;              // training samples / training time
  double data_wait_share = 0;                 // share of training time spent waiting for data
  int64_t train_samples = 0;
  bool encoder_frozen = false;
  bool best = false;  // best monitored value so far (checkpoints/best.pt written)
};

// Progress within an epoch, after each training batch (what a progress bar shows).
struct BatchProgress {
  int64_t epoch = 0;  // 1-based
  int64_t max_epochs = 0;
  int64_t batch = 0;           // 1-based: batches done in this epoch
  int64_t batches = 0;         // batches in this epoch
  double mean_loss = 0;        // mean training loss of the epoch so far
  int64_t samples = 0;         // training samples of the epoch so far
  double elapsed_seconds = 0;  // since the epoch started
  double samples_per_second = 0;
  double eta_seconds = 0;  // rest of the epoch at the pace so far
};

// What a fault hook asks of the training batch about to run (tests).
enum class FaultAction { kNone, kNanLoss };

// The library reports through these and never prints; the program draws the progress.
struct TrainCallbacks {
  std::function<void(const EpochRecord&)> on_epoch_end;
  // After every training batch.
  std::function<void(const BatchProgress&)> on_progress;
  // Fault injection for tests, called before training batch `batch` (1-based) of `epoch`:
  // kNanLoss makes that batch's loss NaN (the divergence path). The hook may also end the process
  // itself, e.g. with SIGKILL mid-epoch to test resuming.
  std::function<FaultAction(int64_t epoch, int64_t batch)> inject_fault;
};

struct TrainResult {
  std::filesystem::path run_dir;
  int64_t epochs_completed = 0;
  int64_t best_epoch = 0;
  double best_value = 0;
  std::string monitor;
  std::string stop_reason;
  std::vector<EpochRecord> history;
};

// Scenes of the three splits, already read or generated (and checked).
struct SceneSplits {
  std::vector<io::Scene> train, val, test;
};

// Reads the scene files or generates the synthetic scenes the config names, and checks them
// against data.bands and data.tasks (UserError naming the scene and key otherwise).
SceneSplits load_scene_splits(const TrainConfig& config);

// A non-finite loss stops training (exit 2 through main: the cause is the configuration or the
// data, and the message says what to change); the last checkpoint stays as it was.
class TrainingDiverged : public UserError {
 public:
  using UserError::UserError;
};

// Starts a new run in config.output.dir. `scenes` (optional) avoids reading them again, e.g. for
// several seeds of one study. UserError before anything is written when the config, the scenes or
// the output directory is unusable.
TrainResult run_training(const TrainConfig& config, const TrainCallbacks& callbacks = {},
                         const SceneSplits* scenes = nullptr);

// The configuration the run in `run_dir` was started with (saved in checkpoints/last.pt), with
// output.dir = run_dir. UserError when the run has no checkpoint yet.
TrainConfig saved_run_config(const std::filesystem::path& run_dir);

// Continues the run in `run_dir` from checkpoints/last.pt with its saved config.
TrainResult resume_training(const std::filesystem::path& run_dir,
                            const TrainCallbacks& callbacks = {},
                            const SceneSplits* scenes = nullptr);

// Throughput of real training steps with the real loader (no run directory is written).
struct TrainBenchmark {
  int64_t steps = 0;
  int64_t batch_size = 0;
  int64_t patch_size = 0;
  double seconds = 0;  // measured steps only (after warm-up)
  double samples_per_second = 0;
  double data_wait_share = 0;  // share of step time spent waiting for the loader
  double mean_step_ms = 0;
  int torch_threads = 0;
  int loader_threads = 0;
  std::string model;
  std::string device;
};
TrainBenchmark benchmark_training(const TrainConfig& config, int64_t steps, int64_t warmup_steps);

}  // namespace sarseg::train
