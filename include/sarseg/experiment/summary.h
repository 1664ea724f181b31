// What an experiment produced, as one data structure: the report (summary.json, report.md,
// report.html) is written from it and from nothing else.
//
// Per run (arm x seed): the learning curve, convergence figures and test metrics per season for
// both the last-epoch weights (what the paper's code evaluated) and the best-validation-loss
// checkpoint. Aggregates (median/min/max over seeds, paired differences, verdicts) are derived
// from the runs by analyse() so they can never disagree with them.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sarseg/eval/uncertainty.h"
#include "sarseg/experiment/statistics.h"

namespace sarseg::experiment {

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0;
  double val_loss = 0;
  double val_weighted_f1 = 0;
  double learning_rate = 0;
  double wall_seconds = 0;   // since the start of training, at the end of this epoch
  int64_t samples_seen = 0;  // training samples since the start, at the end of this epoch
};

// Test metrics of one season (or "all" for every test scene pooled).
struct SeasonMetrics {
  std::string season;  // "freeze-up", "winter", "melt", "all"
  int64_t scenes = 0;
  int64_t pixels = 0;  // evaluated (valid, labelled) pixels
  double weighted_f1 = 0;
  double weighted_iou = 0;
  double macro_f1 = 0;
  double accuracy = 0;
  // Pixel counts, confusion[truth][prediction], over class_names.
  std::vector<std::vector<int64_t>> confusion;
  // Further scores, higher is better: other heads ("FLOE_weighted_f1"), AutoICE
  // ("autoice_combined", "autoice_sic", ...). Each becomes a figure of the analysis.
  std::map<std::string, double> scores;
  // Calibration of the first head's probabilities (counts, so seeds pool exactly); no pixel in
  // summaries written before it was recorded.
  eval::CalibrationAccumulator calibration;
};

struct Evaluation {
  std::string weights;  // "last" or "best"
  // Test domain of data.test_domains; "" = the test scenes of data.test / synth.* (in domain).
  std::string domain;
  int64_t epoch = 0;
  std::vector<SeasonMetrics> seasons;
  const SeasonMetrics* find(const std::string& season) const;
};

// A test scene's map preview: file names relative to the experiment directory.
struct Quicklook {
  std::string scene_id;
  std::string season;
  std::string truth_png;
  std::string input_png;                           // HH backscatter greyscale, "" if none
  std::map<std::string, std::string> predictions;  // arm -> PNG (seed and weights in `caption`)
  std::string caption;
};

struct RunResult {
  std::string arm;
  int64_t seed = 0;
  // The run's speckle filter on the experiment's axis; in the JSON only when not "none".
  std::string speckle_filter = "none";
  std::vector<EpochRecord> curve;
  std::string stop_reason;  // "early stopping", "max epochs", ...
  int64_t best_epoch = 0;   // epoch of the lowest validation loss
  double best_val_loss = 0;
  double seconds_to_best = 0;
  int64_t samples_to_best = 0;
  // First epoch at which the validation weighted F1 reaches 95 % of its final value.
  int64_t epochs_to_95pct_final_f1 = 0;
  double total_seconds = 0;
  std::vector<Evaluation> evaluations;  // "last" and "best", in domain first, then per domain
  // Share of the labelled training scenes this run trained on (experiment.label_fractions).
  double label_fraction = 1.0;
  // The run stopped at the epoch cap (or otherwise) before early stopping and without a
  // schedule that ends training there: its epochs-to-best are lower bounds, not measurements.
  bool censored = false;
  std::string convergence;  // "early stopping", "schedule completed", "censored: ..."
  // The in-domain evaluation of `weights`, or that of `domain`.
  const Evaluation* find(const std::string& weights, const std::string& domain = "") const;
};

struct ArmDescription {
  std::string name;  // "imagenet", "random", ...
  std::string init;  // ModelSpec.init
  bool freeze_encoder = false;
  std::string description;
};

// A test domain of data.test_domains: its name, what differs, how many scenes.
struct DomainDescription {
  std::string name;
  std::string description;
  int64_t scenes = 0;
};

// The self-supervised pretraining behind an `ssl` arm: its cost and the collapse monitor's
// trajectory (one entry per epoch, epoch 0 = before training).
struct PretrainingRecord {
  std::string weights;  // relative to the experiment folder
  std::string encoder;
  std::string objective;  // vicreg | barlow
  std::string init;       // encoder start of pretraining
  std::string scope;      // "once per experiment ..."
  int64_t scenes = 0;
  int64_t epochs = 0;
  int64_t samples_seen = 0;  // regions, two views each
  double wall_seconds = 0;
  double train_seconds = 0;
  std::vector<double> loss;
  std::vector<double> mean_std;                // per-dimension std of the embeddings, averaged
  std::vector<double> normalised_std;          // of the L2-normalised embeddings x sqrt(dim)
  std::vector<double> effective_rank;          // of the embeddings
  std::vector<double> encoder_effective_rank;  // of the pooled encoder output
};

struct ExperimentSummary {
  std::string name;
  std::string profile;
  std::string created_utc;
  std::string sarseg_version;
  std::string machine;  // CPU / device description
  std::string model;    // e.g. "mobilenet_v2 + unet, 2 bands"
  std::string data;     // where the scenes came from
  std::vector<std::string> class_names;
  std::vector<std::string> class_colours;  // "#rrggbb" per class, as in the quicklooks
  std::vector<ArmDescription> arms;
  std::vector<int64_t> seeds;
  std::vector<RunResult> runs;  // full labels (label_fraction 1): the core study
  // experiment.label_fractions below 1: the same arms and seeds on nested shares of the labels.
  std::vector<double> label_fractions;
  std::vector<RunResult> fraction_runs;
  std::vector<DomainDescription> domains;  // data.test_domains
  std::vector<Quicklook> quicklooks;
  std::string reference_arm = "imagenet";  // the arm tested against...
  std::string baseline_arm = "random";     // ...this one (differences reference - baseline)
  // Test metric the per-season verdicts use: "weighted_f1" or a key of SeasonMetrics::scores
  // (e.g. "autoice_combined").
  std::string headline_metric = "weighted_f1";
  double total_seconds = 0;
  nlohmann::json config;                         // the resolved configuration, verbatim
  std::optional<PretrainingRecord> pretraining;  // with an ssl arm (experiment/ssl.h)

  const RunResult* find_run(const std::string& arm, int64_t seed) const;
};

// Convergence figures derived from a learning curve (fills best_epoch, best_val_loss,
// seconds_to_best, samples_to_best, epochs_to_95pct_final_f1). An empty curve leaves zeros.
void derive_convergence(RunResult& run);

void to_json(nlohmann::json& j, const EpochRecord& v);
void from_json(const nlohmann::json& j, EpochRecord& v);
void to_json(nlohmann::json& j, const SeasonMetrics& v);
void from_json(const nlohmann::json& j, SeasonMetrics& v);
void to_json(nlohmann::json& j, const Evaluation& v);
void from_json(const nlohmann::json& j, Evaluation& v);
void to_json(nlohmann::json& j, const Quicklook& v);
void from_json(const nlohmann::json& j, Quicklook& v);
void to_json(nlohmann::json& j, const RunResult& v);
void from_json(const nlohmann::json& j, RunResult& v);
void to_json(nlohmann::json& j, const ArmDescription& v);
void from_json(const nlohmann::json& j, ArmDescription& v);
void to_json(nlohmann::json& j, const DomainDescription& v);
void from_json(const nlohmann::json& j, DomainDescription& v);
void to_json(nlohmann::json& j, const PretrainingRecord& v);
void from_json(const nlohmann::json& j, PretrainingRecord& v);
void to_json(nlohmann::json& j, const ExperimentSummary& v);
void from_json(const nlohmann::json& j, ExperimentSummary& v);

}  // namespace sarseg::experiment
