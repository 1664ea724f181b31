// Runs an experiment: arms x seeds, each trained by the engine into <out>/<arm>/seed<k>/ and
// evaluated on the test scenes (whole-scene inference, grouped by season) with the last-epoch
// weights and the best checkpoint; then the report (summary.json, report.md, report.html).
//
//   ExperimentConfig config = load_experiment_config("quick", std::nullopt, {});
//   ExperimentOutcome outcome = run_experiment(config, {"runs/quick", "quick"});
//
// Every input check happens before the first run trains: the arms' weight files (by loading them
// into the model), the scenes of every split, and a test scene for each of
// experiment.test_seasons. Bad input throws UserError (exit 2).
//
// Each run is claimed (<run>/claim, O_CREAT|O_EXCL) while it trains, so several invocations on a
// shared folder (sarseg experiment --jobs N, --only ID from a SLURM array) never train one run
// twice; --assemble then writes the report from the runs' result.json files.
//
// Restarting with the same output folder keeps finished runs (those with result.json), resumes an
// interrupted one from its last checkpoint and trains the missing ones. The folder remembers the
// configuration (experiment.yaml); a restart whose settings differ (other than seeds, arms and
// output.*) is refused rather than mixed into the old results.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sarseg/experiment/config.h"
#include "sarseg/experiment/report.h"
#include "sarseg/experiment/summary.h"
#include "sarseg/train/trainer.h"

namespace sarseg::experiment {

struct RunnerOptions {
  std::filesystem::path out_dir;
  std::string profile = "quick";            // recorded in the report
  train::TrainCallbacks train_callbacks{};  // handed to every run's training (progress, faults)
  // Runs spread over workers (experiment/plan.h). `only`: the ids ("imagenet:3") this invocation
  // trains, nothing else, and UserError when another worker holds one; empty: every run not
  // claimed by another worker (those are skipped).
  std::vector<std::string> only{};
  bool write_report = true;  // false: a worker; the report is assembled once every run is done
  bool assemble = false;     // train nothing: the report from every run's result.json
};

struct ExperimentOutcome {
  ExperimentSummary summary;
  ReportFiles report;
  int64_t runs_trained = 0;  // started from scratch in this invocation
  int64_t runs_resumed = 0;  // continued from a checkpoint
  int64_t runs_reused = 0;   // finished before, results read back
  int64_t runs_skipped = 0;  // claimed by another worker, or not among RunnerOptions::only
  double wall_seconds = 0;   // this invocation
};

ExperimentOutcome run_experiment(const ExperimentConfig& config, const RunnerOptions& options);

// Run folder of one arm and seed.
std::filesystem::path run_directory(const std::filesystem::path& out_dir, const std::string& arm,
                                    int64_t seed);
// Whether the schedule of `config` ends training at train.max_epochs by design (cosine
// annealing, one cycle of exactly train.max_epochs epochs): such a run has converged when it
// reaches the cap (convergence.h).
bool schedule_ends_at_budget(const train::TrainConfig& config);

// ... of a run on a share of the labels: <out>/<arm>/labels<fraction>/seed<k> (below 1).
std::filesystem::path run_directory(const std::filesystem::path& out_dir, const std::string& arm,
                                    int64_t seed, double label_fraction);

}  // namespace sarseg::experiment
