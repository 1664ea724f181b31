#include "sarseg/experiment/analysis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>

#include "sarseg/experiment/convergence.h"
#include "sarseg/util/find.h"

namespace sarseg::experiment {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kSignificance = 0.10;
constexpr double kMetricTolerance = 0.002;  // 0.2 percentage points of F1 / IoU / accuracy
constexpr double kEpochTolerance = 0.5;     // whole epochs: equal counts are ties

const std::vector<std::string> kSeasonOrder = {"freeze-up", "winter", "melt", "unknown", "all"};

std::string format_value(double v, const std::string& unit, bool signed_value = false) {
  if (!std::isfinite(v)) return "n/a";
  char buffer[64];
  const char* sign = signed_value ? "%+" : "%";
  std::string pattern;
  if (unit == "epochs" || unit == "s")
    pattern = std::string(sign) + ".1f";
  else if (unit == "samples")
    pattern = std::string(sign) + ".0f";
  else
    pattern = std::string(sign) + ".4f";
  std::snprintf(buffer, sizeof buffer, pattern.c_str(), v);
  std::string text = buffer;
  if (!unit.empty()) text += " " + unit;
  return text;
}

std::string format_p(double p) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", p);
  return buffer;
}

using Extractor = std::function<double(const RunResult&)>;

FigureAnalysis make_figure(const ExperimentSummary& summary, std::string key, std::string label,
                           std::string unit, Direction direction, double tolerance,
                           const Extractor& value) {
  FigureAnalysis figure;
  figure.key = std::move(key);
  figure.label = std::move(label);
  figure.unit = std::move(unit);
  figure.direction = direction;
  figure.tolerance = tolerance;
  for (const auto& arm : summary.arms) {
    ArmFigure arm_figure;
    arm_figure.arm = arm.name;
    for (int64_t seed : summary.seeds) {
      const RunResult* run = summary.find_run(arm.name, seed);
      arm_figure.per_seed.push_back(run ? value(*run) : kNaN);
    }
    arm_figure.spread = spread_of(arm_figure.per_seed);
    figure.arms.push_back(std::move(arm_figure));
  }
  const ArmFigure* reference = figure.find(summary.reference_arm);
  const ArmFigure* baseline = figure.find(summary.baseline_arm);
  if (reference && baseline) {
    figure.paired = compare_paired(reference->per_seed, baseline->per_seed, tolerance);
    figure.has_paired = true;
  }
  return figure;
}

// One value of a run's test metrics: `read` applied to the metrics of `season` under the
// `weights` checkpoint (NaN when the run has none).
using SeasonReader = std::function<double(const SeasonMetrics&)>;

double season_value(const RunResult& run, const std::string& weights, const std::string& season,
                    const SeasonReader& read) {
  const Evaluation* evaluation = run.find(weights);
  const SeasonMetrics* metrics = evaluation ? evaluation->find(season) : nullptr;
  return metrics ? read(*metrics) : kNaN;
}

std::string season_words(const std::string& season) {
  return season == "all" ? "all test scenes pooled" : season + " test scenes";
}

// How a verdict is reached, in words, for the report.
std::string verdict_rule(const std::string& ref, const std::string& base) {
  return "For each question the paired per-seed difference " + ref + " - " + base +
         " of one figure is oriented so that positive favours " + ref +
         ". The claim is 'supported' only when the median advantage exceeds the figure's "
         "tolerance and either every non-tied seed favours " +
         ref + " or the exact two-sided Wilcoxon signed-rank p-value is below " +
         format_p(kSignificance) +
         " (at least 2 non-tied seeds). 'Contradicted' is the same with the arms swapped; a median "
         "within the tolerance is 'no difference'; anything else is 'not supported (mixed)'. "
         "Differences within the tolerance (" +
         format_value(kMetricTolerance, "") + " for F1/IoU/accuracy, " +
         format_value(kEpochTolerance, "epochs") +
         ") count as ties and are dropped from the tests. With n seeds all agreeing, the smallest "
         "two-sided p is 2/2^n (0.25 for 3 seeds, 0.0625 for 5), so few seeds give consistency, "
         "not significance.";
}

// Seasons present in any evaluation, in a fixed order.
std::vector<std::string> seasons_present(const ExperimentSummary& summary) {
  std::vector<std::string> seasons;
  for (const auto& run : summary.runs)
    for (const auto& evaluation : run.evaluations)
      for (const auto& metrics : evaluation.seasons)
        if (std::find(seasons.begin(), seasons.end(), metrics.season) == seasons.end())
          seasons.push_back(metrics.season);
  std::stable_sort(seasons.begin(), seasons.end(), [](const auto& a, const auto& b) {
    const auto rank = [](const std::string& s) {
      const auto it = std::find(kSeasonOrder.begin(), kSeasonOrder.end(), s);
      return it - kSeasonOrder.begin();
    };
    return rank(a) < rank(b);
  });
  return seasons;
}

// Names of the extra scores (other heads, AutoICE) in any evaluation, in order of appearance.
std::vector<std::string> score_names_present(const ExperimentSummary& summary) {
  std::vector<std::string> score_names;
  for (const auto& run : summary.runs)
    for (const auto& evaluation : run.evaluations)
      for (const auto& metrics : evaluation.seasons)
        for (const auto& [name, value] : metrics.scores)
          if (std::find(score_names.begin(), score_names.end(), name) == score_names.end())
            score_names.push_back(name);
  return score_names;
}

void add_convergence_figures(const ExperimentSummary& summary,
                             std::vector<FigureAnalysis>& figures) {
  figures.push_back(make_figure(
      summary, "convergence.epochs_to_95pct_final_f1",
      "epochs until the validation weighted F1 first reaches 95 % of its final value", "epochs",
      Direction::kLowerIsBetter, kEpochTolerance,
      [](const RunResult& r) { return static_cast<double>(r.epochs_to_95pct_final_f1); }));
  figures.push_back(make_figure(
      summary, "convergence.epochs_to_best_val_loss", "epochs to the best validation loss",
      "epochs", Direction::kLowerIsBetter, kEpochTolerance,
      [](const RunResult& r) { return static_cast<double>(r.best_epoch); }));
  figures.push_back(make_figure(
      summary, "convergence.seconds_to_best_val_loss", "wall time to the best validation loss", "s",
      Direction::kLowerIsBetter, 0.0, [](const RunResult& r) { return r.seconds_to_best; }));
  figures.push_back(make_figure(
      summary, "convergence.samples_to_best_val_loss",
      "training samples seen until the best validation loss", "samples", Direction::kLowerIsBetter,
      0.5, [](const RunResult& r) { return static_cast<double>(r.samples_to_best); }));
  figures.push_back(make_figure(summary, "convergence.best_val_loss", "best validation loss", "",
                                Direction::kLowerIsBetter, 1e-4,
                                [](const RunResult& r) { return r.best_val_loss; }));
  figures.push_back(make_figure(
      summary, "convergence.final_val_weighted_f1", "final validation weighted F1", "",
      Direction::kHigherIsBetter, kMetricTolerance,
      [](const RunResult& r) { return r.curve.empty() ? kNaN : r.curve.back().val_weighted_f1; }));
  figures.push_back(make_figure(
      summary, "convergence.epochs_trained", "epochs trained", "epochs", Direction::kLowerIsBetter,
      kEpochTolerance, [](const RunResult& r) { return static_cast<double>(r.curve.size()); }));
}

// A test metric: its key part, its words and how to read it from a season's metrics.
struct TestMetric {
  std::string key;
  std::string words;
  SeasonReader read;
};

// One figure per checkpoint, season and metric (in that nesting), keyed
// test.<checkpoint>.<season>.<metric>.
void add_test_figures(const ExperimentSummary& summary, const std::vector<std::string>& seasons,
                      const std::vector<TestMetric>& metrics,
                      std::vector<FigureAnalysis>& figures) {
  const std::vector<std::pair<std::string, std::string>> checkpoints = {
      {"last", "last-epoch weights"}, {"best", "best-validation-loss checkpoint"}};
  for (const auto& [weights, weights_words] : checkpoints)
    for (const auto& season : seasons)
      for (const auto& metric : metrics) {
        const auto weights_copy = weights;
        const auto season_copy = season;
        const auto read = metric.read;
        figures.push_back(make_figure(
            summary, "test." + weights + "." + season + "." + metric.key,
            metric.words + " on " + season_words(season) + " (" + weights_words + ")", "",
            Direction::kHigherIsBetter, kMetricTolerance,
            [=](const RunResult& r) { return season_value(r, weights_copy, season_copy, read); }));
      }
}

std::vector<TestMetric> standard_test_metrics() {
  const auto member = [](double SeasonMetrics::*field) -> SeasonReader {
    return [field](const SeasonMetrics& m) { return m.*field; };
  };
  return {{"weighted_f1", "weighted F1", member(&SeasonMetrics::weighted_f1)},
          {"weighted_iou", "weighted IoU", member(&SeasonMetrics::weighted_iou)},
          {"accuracy", "accuracy", member(&SeasonMetrics::accuracy)},
          {"macro_f1", "macro F1", member(&SeasonMetrics::macro_f1)}};
}

// Extra scores (other heads, AutoICE) read by name; NaN where a season lacks the score.
std::vector<TestMetric> extra_score_metrics(const ExperimentSummary& summary) {
  std::vector<TestMetric> metrics;
  for (const auto& name : score_names_present(summary))
    metrics.push_back({name, name, [name](const SeasonMetrics& m) {
                         const auto it = m.scores.find(name);
                         return it == m.scores.end() ? kNaN : it->second;
                       }});
  return metrics;
}

bool has_calibration(const ExperimentSummary& summary) {
  for (const auto& run : summary.runs)
    for (const auto& evaluation : run.evaluations)
      for (const auto& metrics : evaluation.seasons)
        if (metrics.calibration.pixels() > 0) return true;
  return false;
}

// Calibration of the first head's probabilities, per checkpoint and season, keyed
// calibration.<checkpoint>.<season>.<ece|error_auroc>; only when some run recorded it.
void add_calibration_figures(const ExperimentSummary& summary,
                             const std::vector<std::string>& seasons,
                             std::vector<FigureAnalysis>& figures) {
  if (!has_calibration(summary)) return;
  const auto ece = [](const SeasonMetrics& m) {
    return m.calibration.pixels() > 0 ? m.calibration.expected_calibration_error() : kNaN;
  };
  const auto auroc = [](const SeasonMetrics& m) {
    return m.calibration.pixels() > 0 ? m.calibration.error_auroc() : kNaN;
  };
  for (const std::string weights : {"last", "best"})
    for (const auto& season : seasons) {
      const std::string words = season_words(season) + " (" +
                                (weights == "last" ? "last-epoch weights" : "best checkpoint") +
                                ")";
      figures.push_back(make_figure(
          summary, "calibration." + weights + "." + season + ".ece",
          "expected calibration error on " + words, "", Direction::kLowerIsBetter, kMetricTolerance,
          [=](const RunResult& r) { return season_value(r, weights, season, ece); }));
      figures.push_back(
          make_figure(summary, "calibration." + weights + "." + season + ".error_auroc",
                      "AUROC of the predictive entropy for misclassified pixels on " + words, "",
                      Direction::kHigherIsBetter, kMetricTolerance,
                      [=](const RunResult& r) { return season_value(r, weights, season, auroc); }));
    }
}

bool has_season(const std::vector<std::string>& seasons, const std::string& season) {
  return std::find(seasons.begin(), seasons.end(), season) != seasons.end();
}

// Is the advantage larger on melt than on freeze-up ("especially in the melt season")? The
// per-seed reference-minus-baseline weighted F1 (last-epoch weights) on melt against the same on
// freeze-up; unpaired when either season's figure is.
FigureAnalysis melt_versus_freeze_up_figure(const ExperimentSummary& summary,
                                            const Analysis& analysis) {
  const std::string& ref = summary.reference_arm;
  const std::string& base = summary.baseline_arm;
  FigureAnalysis gap;
  gap.key = "test.last.melt_vs_freeze-up.weighted_f1_advantage";
  gap.label = "the " + ref + " advantage in weighted F1 (last-epoch weights), melt minus freeze-up";
  gap.direction = Direction::kHigherIsBetter;
  gap.tolerance = kMetricTolerance;
  const FigureAnalysis* melt = analysis.find("test.last.melt.weighted_f1");
  const FigureAnalysis* freeze = analysis.find("test.last.freeze-up.weighted_f1");
  if (melt && freeze && melt->has_paired && freeze->has_paired) {
    ArmFigure melt_advantage{"melt advantage", {}, {}};
    ArmFigure freeze_advantage{"freeze-up advantage", {}, {}};
    const ArmFigure* melt_ref = melt->find(ref);
    const ArmFigure* melt_base = melt->find(base);
    const ArmFigure* freeze_ref = freeze->find(ref);
    const ArmFigure* freeze_base = freeze->find(base);
    for (size_t i = 0; i < summary.seeds.size(); ++i) {
      melt_advantage.per_seed.push_back(melt_ref->per_seed[i] - melt_base->per_seed[i]);
      freeze_advantage.per_seed.push_back(freeze_ref->per_seed[i] - freeze_base->per_seed[i]);
    }
    melt_advantage.spread = spread_of(melt_advantage.per_seed);
    freeze_advantage.spread = spread_of(freeze_advantage.per_seed);
    gap.paired =
        compare_paired(melt_advantage.per_seed, freeze_advantage.per_seed, kMetricTolerance);
    gap.has_paired = true;
    gap.arms = {melt_advantage, freeze_advantage};
  }
  return gap;
}

}  // namespace

std::string to_string(VerdictLevel level) {
  switch (level) {
    case VerdictLevel::kSupported:
      return "supported";
    case VerdictLevel::kContradicted:
      return "contradicted";
    case VerdictLevel::kNoDifference:
      return "no difference";
    case VerdictLevel::kMixed:
      return "not supported (mixed)";
    case VerdictLevel::kNoData:
      return "no data";
    case VerdictLevel::kInconclusive:
      return "inconclusive";
  }
  return "?";
}

const ArmFigure* FigureAnalysis::find(const std::string& arm) const {
  return find_first(arms, [&](const ArmFigure& a) { return a.arm == arm; });
}

const FigureAnalysis* Analysis::find(const std::string& key) const {
  return find_first(figures, [&](const FigureAnalysis& f) { return f.key == key; });
}

Verdict judge(const FigureAnalysis& figure, const std::string& reference_arm,
              const std::string& baseline_arm, const std::string& question) {
  Verdict verdict;
  verdict.question = question;
  verdict.figure_key = figure.key;
  const PairedComparison& paired = figure.paired;
  const int64_t nonzero = paired.positive + paired.negative;
  if (!figure.has_paired || paired.differences.size() < 2) {
    verdict.level = VerdictLevel::kNoData;
    verdict.answer = "Cannot be answered: fewer than 2 seeds have " + figure.label + " for both " +
                     reference_arm + " and " + baseline_arm + ".";
    return verdict;
  }
  const double orientation = figure.direction == Direction::kHigherIsBetter ? 1.0 : -1.0;
  const double median_advantage = orientation * paired.spread.median;
  const int64_t favour_reference = orientation > 0 ? paired.positive : paired.negative;
  const int64_t favour_baseline = orientation > 0 ? paired.negative : paired.positive;
  const int64_t pairs = static_cast<int64_t>(paired.differences.size());

  const std::string numbers =
      "median difference " + reference_arm + " - " + baseline_arm + " " +
      format_value(paired.spread.median, figure.unit, true) + " (range " +
      format_value(paired.spread.min, figure.unit, true) + " to " +
      format_value(paired.spread.max, figure.unit, true) + "; " +
      (figure.direction == Direction::kHigherIsBetter ? "higher" : "lower") + " is better)";
  const std::string tests = "exact Wilcoxon p = " + format_p(paired.wilcoxon_p) +
                            ", sign-test p = " + format_p(paired.sign_test_p);
  const bool significant = paired.wilcoxon_p < kSignificance;
  const std::string strength =
      significant ? tests + " (< " + format_p(kSignificance) + ")"
                  : tests + "; with " + std::to_string(nonzero) +
                        " non-tied seeds the smallest attainable p is " +
                        format_p(paired.smallest_attainable_p) +
                        ", so this is consistency across seeds, not statistical significance";

  if (std::abs(median_advantage) <= figure.tolerance) {
    verdict.level = VerdictLevel::kNoDifference;
    verdict.answer = "No meaningful difference in " + figure.label + ": " + numbers +
                     " is within the tolerance of " + format_value(figure.tolerance, figure.unit) +
                     ".";
  } else if (median_advantage > 0 && nonzero >= 2 && (favour_baseline == 0 || significant)) {
    verdict.level = VerdictLevel::kSupported;
    verdict.answer = "Yes: " + reference_arm + " is better in " + figure.label + " in " +
                     std::to_string(favour_reference) + " of " + std::to_string(pairs) +
                     " seeds; " + numbers + "; " + strength + ".";
  } else if (median_advantage < 0 && nonzero >= 2 && (favour_reference == 0 || significant)) {
    verdict.level = VerdictLevel::kContradicted;
    verdict.answer = "No, the opposite: " + baseline_arm + " is better in " + figure.label +
                     " in " + std::to_string(favour_baseline) + " of " + std::to_string(pairs) +
                     " seeds; " + numbers + "; " + strength + ".";
  } else {
    verdict.level = VerdictLevel::kMixed;
    verdict.answer = "Not supported: the seeds disagree on " + figure.label + " (" +
                     std::to_string(favour_reference) + " favour " + reference_arm + ", " +
                     std::to_string(favour_baseline) + " favour " + baseline_arm + ", " +
                     std::to_string(paired.ties) + " tied); " + numbers + "; " + tests + ".";
  }
  return verdict;
}

namespace {

// The questions the study answers, each judged on its primary figure with the verdicts of
// related figures as support; a question whose figure is missing is left out.
void add_verdicts(const ExperimentSummary& summary, Analysis& analysis, bool has_melt_and_freeze) {
  const std::string& ref = summary.reference_arm;
  const std::string& base = summary.baseline_arm;
  const auto add_question = [&](const std::string& question, const std::string& primary,
                                const std::vector<std::string>& secondary) {
    // Convergence figures of censored runs are bounds, not measurements (convergence.h).
    const auto judged = [&](const FigureAnalysis& f, const std::string& q) {
      return f.key.rfind("convergence.", 0) == 0 ? judge_convergence(summary, f, q)
                                                 : judge(f, ref, base, q);
    };
    const FigureAnalysis* figure = analysis.find(primary);
    if (!figure) return;
    Verdict verdict = judged(*figure, question);
    for (const auto& key : secondary) {
      const FigureAnalysis* other = analysis.find(key);
      if (!other) continue;
      const Verdict v = judged(*other, "");
      verdict.supporting.push_back(other->label + ": " + to_string(v.level) + ". " + v.answer);
    }
    analysis.verdicts.push_back(std::move(verdict));
  };
  add_question("Does " + ref + " converge faster than " + base + "?",
               "convergence.epochs_to_95pct_final_f1",
               {"convergence.epochs_to_best_val_loss", "convergence.seconds_to_best_val_loss",
                "convergence.best_val_loss"});
  for (const std::string season : {"melt", "freeze-up", "winter", "all"}) {
    if (season == "all" && summary.headline_metric == "weighted_f1") continue;
    if (!has_season(analysis.seasons, season)) continue;
    const std::string& h = summary.headline_metric;
    std::vector<std::string> secondary = {"test.best." + season + "." + h};
    if (h == "weighted_f1") {
      secondary = {"test.last." + season + ".weighted_iou", "test.best." + season + ".weighted_f1",
                   "test.best." + season + ".weighted_iou"};
    }
    add_question("Is " + ref + " better than " + base + " on " + season + " scenes?",
                 "test.last." + season + "." + h, secondary);
  }
  if (has_melt_and_freeze) {
    const FigureAnalysis* gap = analysis.find("test.last.melt_vs_freeze-up.weighted_f1_advantage");
    if (gap) {
      Verdict verdict = judge(*gap, "melt", "freeze-up",
                              "Is the advantage of " + ref + " larger on melt than on freeze-up?");
      analysis.verdicts.push_back(std::move(verdict));
    }
  }
  if (analysis.verdicts.size() == 1) {
    Verdict none;
    none.question = "Is " + ref + " better than " + base + " on the test scenes?";
    none.answer = "Cannot be answered: no run has test metrics.";
    analysis.verdicts.push_back(none);
  }
  add_question("Is " + ref + " better calibrated than " + base + "?", "calibration.last.all.ece",
               {"calibration.best.all.ece", "calibration.last.all.error_auroc"});
}

}  // namespace

Analysis analyse(const ExperimentSummary& summary) {
  Analysis analysis;
  analysis.rule = verdict_rule(summary.reference_arm, summary.baseline_arm);
  analysis.seasons = seasons_present(summary);
  add_convergence_figures(summary, analysis.figures);
  add_test_figures(summary, analysis.seasons, standard_test_metrics(), analysis.figures);
  add_test_figures(summary, analysis.seasons, extra_score_metrics(summary), analysis.figures);
  add_calibration_figures(summary, analysis.seasons, analysis.figures);
  const bool has_melt_and_freeze =
      has_season(analysis.seasons, "melt") && has_season(analysis.seasons, "freeze-up");
  if (has_melt_and_freeze)
    analysis.figures.push_back(melt_versus_freeze_up_figure(summary, analysis));
  add_verdicts(summary, analysis, has_melt_and_freeze);
  add_ssl_verdicts(summary, analysis);
  return analysis;
}

}  // namespace sarseg::experiment
