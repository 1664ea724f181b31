#include "sarseg/experiment/summary.h"

#include <cmath>
#include <limits>

#include "sarseg/util/find.h"

namespace sarseg::experiment {

const SeasonMetrics* Evaluation::find(const std::string& season) const {
  return find_first(seasons, [&](const SeasonMetrics& s) { return s.season == season; });
}

const Evaluation* RunResult::find(const std::string& weights, const std::string& domain) const {
  return find_first(
      evaluations, [&](const Evaluation& e) { return e.weights == weights && e.domain == domain; });
}

const RunResult* ExperimentSummary::find_run(const std::string& arm, int64_t seed) const {
  return find_first(runs, [&](const RunResult& r) { return r.arm == arm && r.seed == seed; });
}

void derive_convergence(RunResult& run) {
  run.best_epoch = 0;
  run.best_val_loss = 0;
  run.seconds_to_best = 0;
  run.samples_to_best = 0;
  run.epochs_to_95pct_final_f1 = 0;
  if (run.curve.empty()) return;
  double best = std::numeric_limits<double>::infinity();
  for (const auto& e : run.curve) {
    // Strictly lower, so the first epoch reaching the minimum counts (as early stopping does).
    if (std::isfinite(e.val_loss) && e.val_loss < best) {
      best = e.val_loss;
      run.best_epoch = e.epoch;
      run.best_val_loss = e.val_loss;
      run.seconds_to_best = e.wall_seconds;
      run.samples_to_best = e.samples_seen;
    }
  }
  const double target = 0.95 * run.curve.back().val_weighted_f1;
  for (const auto& e : run.curve) {
    if (e.val_weighted_f1 >= target) {
      run.epochs_to_95pct_final_f1 = e.epoch;
      break;
    }
  }
}

// ---- JSON ------------------------------------------------------------------------------------
// Non-finite numbers become null (JSON has no NaN) and come back as NaN.

namespace {

nlohmann::json number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

double get_number(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::numeric_limits<double>::quiet_NaN();
  return j.at(key).get<double>();
}

template <typename T>
void get_if(const nlohmann::json& j, const char* key, T& out) {
  if (j.contains(key) && !j.at(key).is_null()) j.at(key).get_to(out);
}

}  // namespace

void to_json(nlohmann::json& j, const EpochRecord& v) {
  j = {{"epoch", v.epoch},
       {"train_loss", number(v.train_loss)},
       {"val_loss", number(v.val_loss)},
       {"val_weighted_f1", number(v.val_weighted_f1)},
       {"learning_rate", number(v.learning_rate)},
       {"wall_seconds", number(v.wall_seconds)},
       {"samples_seen", v.samples_seen}};
}

void from_json(const nlohmann::json& j, EpochRecord& v) {
  get_if(j, "epoch", v.epoch);
  v.train_loss = get_number(j, "train_loss");
  v.val_loss = get_number(j, "val_loss");
  v.val_weighted_f1 = get_number(j, "val_weighted_f1");
  v.learning_rate = get_number(j, "learning_rate");
  v.wall_seconds = get_number(j, "wall_seconds");
  get_if(j, "samples_seen", v.samples_seen);
}

void to_json(nlohmann::json& j, const SeasonMetrics& v) {
  j = {{"season", v.season},
       {"scenes", v.scenes},
       {"pixels", v.pixels},
       {"weighted_f1", number(v.weighted_f1)},
       {"weighted_iou", number(v.weighted_iou)},
       {"macro_f1", number(v.macro_f1)},
       {"accuracy", number(v.accuracy)},
       {"confusion", v.confusion}};
  nlohmann::json scores = nlohmann::json::object();
  for (const auto& [name, value] : v.scores)
    scores[name] = number(value);
  j["scores"] = scores;
  if (v.calibration.pixels() > 0) j["calibration"] = v.calibration.to_json();
}

void from_json(const nlohmann::json& j, SeasonMetrics& v) {
  get_if(j, "season", v.season);
  get_if(j, "scenes", v.scenes);
  get_if(j, "pixels", v.pixels);
  v.weighted_f1 = get_number(j, "weighted_f1");
  v.weighted_iou = get_number(j, "weighted_iou");
  v.macro_f1 = get_number(j, "macro_f1");
  v.accuracy = get_number(j, "accuracy");
  get_if(j, "confusion", v.confusion);
  if (j.contains("scores"))
    for (const auto& [name, value] : j.at("scores").items())
      v.scores[name] =
          value.is_null() ? std::numeric_limits<double>::quiet_NaN() : value.get<double>();
  if (j.contains("calibration") && !j.at("calibration").is_null())
    v.calibration = eval::CalibrationAccumulator::from_json(j.at("calibration"), "summary.json");
}

void to_json(nlohmann::json& j, const Evaluation& v) {
  j = {{"weights", v.weights}, {"epoch", v.epoch}, {"seasons", v.seasons}};
  if (!v.domain.empty()) j["domain"] = v.domain;
}

void from_json(const nlohmann::json& j, Evaluation& v) {
  get_if(j, "weights", v.weights);
  get_if(j, "domain", v.domain);
  get_if(j, "epoch", v.epoch);
  get_if(j, "seasons", v.seasons);
}

void to_json(nlohmann::json& j, const Quicklook& v) {
  j = {{"scene_id", v.scene_id},   {"season", v.season},           {"truth_png", v.truth_png},
       {"input_png", v.input_png}, {"predictions", v.predictions}, {"caption", v.caption}};
}

void from_json(const nlohmann::json& j, Quicklook& v) {
  get_if(j, "scene_id", v.scene_id);
  get_if(j, "season", v.season);
  get_if(j, "truth_png", v.truth_png);
  get_if(j, "input_png", v.input_png);
  get_if(j, "predictions", v.predictions);
  get_if(j, "caption", v.caption);
}

void to_json(nlohmann::json& j, const RunResult& v) {
  j = {{"arm", v.arm},
       {"seed", v.seed},
       {"stop_reason", v.stop_reason},
       {"best_epoch", v.best_epoch},
       {"best_val_loss", number(v.best_val_loss)},
       {"seconds_to_best", number(v.seconds_to_best)},
       {"samples_to_best", v.samples_to_best},
       {"epochs_to_95pct_final_f1", v.epochs_to_95pct_final_f1},
       {"total_seconds", number(v.total_seconds)},
       {"censored", v.censored},
       {"convergence", v.convergence},
       {"curve", v.curve},
       {"evaluations", v.evaluations}};
  if (v.label_fraction != 1.0) j["label_fraction"] = v.label_fraction;
  if (v.speckle_filter != "none") j["speckle_filter"] = v.speckle_filter;
}

void from_json(const nlohmann::json& j, RunResult& v) {
  get_if(j, "arm", v.arm);
  get_if(j, "seed", v.seed);
  get_if(j, "stop_reason", v.stop_reason);
  get_if(j, "best_epoch", v.best_epoch);
  v.best_val_loss = get_number(j, "best_val_loss");
  v.seconds_to_best = get_number(j, "seconds_to_best");
  get_if(j, "samples_to_best", v.samples_to_best);
  get_if(j, "epochs_to_95pct_final_f1", v.epochs_to_95pct_final_f1);
  v.total_seconds = get_number(j, "total_seconds");
  get_if(j, "curve", v.curve);
  get_if(j, "evaluations", v.evaluations);
  get_if(j, "label_fraction", v.label_fraction);
  // Results written before censoring was recorded: only early stopping counts as converged.
  v.censored = v.stop_reason.rfind("early stopping", 0) != 0;
  v.convergence = v.censored ? "censored: " + v.stop_reason : "early stopping";
  get_if(j, "censored", v.censored);
  get_if(j, "convergence", v.convergence);
  get_if(j, "speckle_filter", v.speckle_filter);
}

void to_json(nlohmann::json& j, const ArmDescription& v) {
  j = {{"name", v.name},
       {"init", v.init},
       {"freeze_encoder", v.freeze_encoder},
       {"description", v.description}};
}

void from_json(const nlohmann::json& j, ArmDescription& v) {
  get_if(j, "name", v.name);
  get_if(j, "init", v.init);
  get_if(j, "freeze_encoder", v.freeze_encoder);
  get_if(j, "description", v.description);
}

void to_json(nlohmann::json& j, const DomainDescription& v) {
  j = {{"name", v.name}, {"description", v.description}, {"scenes", v.scenes}};
}

void from_json(const nlohmann::json& j, DomainDescription& v) {
  get_if(j, "name", v.name);
  get_if(j, "description", v.description);
  get_if(j, "scenes", v.scenes);
}

void to_json(nlohmann::json& j, const PretrainingRecord& v) {
  const auto numbers = [](const std::vector<double>& values) {
    nlohmann::json out = nlohmann::json::array();
    for (double x : values)
      out.push_back(number(x));
    return out;
  };
  j = {{"weights", v.weights},
       {"encoder", v.encoder},
       {"objective", v.objective},
       {"init", v.init},
       {"scope", v.scope},
       {"scenes", v.scenes},
       {"epochs", v.epochs},
       {"samples_seen", v.samples_seen},
       {"wall_seconds", number(v.wall_seconds)},
       {"train_seconds", number(v.train_seconds)},
       {"loss", numbers(v.loss)},
       {"mean_std", numbers(v.mean_std)},
       {"normalised_std", numbers(v.normalised_std)},
       {"effective_rank", numbers(v.effective_rank)},
       {"encoder_effective_rank", numbers(v.encoder_effective_rank)}};
}

void from_json(const nlohmann::json& j, PretrainingRecord& v) {
  const auto numbers = [&](const char* key, std::vector<double>& out) {
    out.clear();
    if (!j.contains(key)) return;
    for (const auto& x : j.at(key))
      out.push_back(x.is_number() ? x.get<double>() : std::nan(""));
  };
  get_if(j, "weights", v.weights);
  get_if(j, "encoder", v.encoder);
  get_if(j, "objective", v.objective);
  get_if(j, "init", v.init);
  get_if(j, "scope", v.scope);
  get_if(j, "scenes", v.scenes);
  get_if(j, "epochs", v.epochs);
  get_if(j, "samples_seen", v.samples_seen);
  v.wall_seconds = get_number(j, "wall_seconds");
  v.train_seconds = get_number(j, "train_seconds");
  numbers("loss", v.loss);
  numbers("mean_std", v.mean_std);
  numbers("normalised_std", v.normalised_std);
  numbers("effective_rank", v.effective_rank);
  numbers("encoder_effective_rank", v.encoder_effective_rank);
}

void to_json(nlohmann::json& j, const ExperimentSummary& v) {
  j = {{"name", v.name},
       {"profile", v.profile},
       {"created_utc", v.created_utc},
       {"sarseg_version", v.sarseg_version},
       {"machine", v.machine},
       {"model", v.model},
       {"data", v.data},
       {"class_names", v.class_names},
       {"class_colours", v.class_colours},
       {"arms", v.arms},
       {"seeds", v.seeds},
       {"reference_arm", v.reference_arm},
       {"baseline_arm", v.baseline_arm},
       {"headline_metric", v.headline_metric},
       {"total_seconds", number(v.total_seconds)},
       {"runs", v.runs},
       {"quicklooks", v.quicklooks},
       {"config", v.config}};
  if (!v.label_fractions.empty()) {
    j["label_fractions"] = v.label_fractions;
    j["fraction_runs"] = v.fraction_runs;
  }
  if (!v.domains.empty()) j["domains"] = v.domains;
  if (v.pretraining) j["pretraining"] = *v.pretraining;
}

void from_json(const nlohmann::json& j, ExperimentSummary& v) {
  get_if(j, "name", v.name);
  get_if(j, "profile", v.profile);
  get_if(j, "created_utc", v.created_utc);
  get_if(j, "sarseg_version", v.sarseg_version);
  get_if(j, "machine", v.machine);
  get_if(j, "model", v.model);
  get_if(j, "data", v.data);
  get_if(j, "class_names", v.class_names);
  get_if(j, "class_colours", v.class_colours);
  get_if(j, "arms", v.arms);
  get_if(j, "seeds", v.seeds);
  get_if(j, "reference_arm", v.reference_arm);
  get_if(j, "baseline_arm", v.baseline_arm);
  get_if(j, "headline_metric", v.headline_metric);
  v.total_seconds = get_number(j, "total_seconds");
  get_if(j, "runs", v.runs);
  get_if(j, "quicklooks", v.quicklooks);
  get_if(j, "label_fractions", v.label_fractions);
  get_if(j, "fraction_runs", v.fraction_runs);
  get_if(j, "domains", v.domains);
  if (j.contains("config")) v.config = j.at("config");
  if (j.contains("pretraining")) v.pretraining = j.at("pretraining").get<PretrainingRecord>();
}

}  // namespace sarseg::experiment
