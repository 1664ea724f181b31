// Aggregates and verdicts derived from an ExperimentSummary.
//
// Figures: each headline number of a run (convergence, test metrics per season and checkpoint).
// Per arm: median, min and max over seeds (the paper's way). Between the reference arm
// (imagenet) and the baseline arm (random): paired per-seed differences with exact sign and
// Wilcoxon signed-rank tests.
//
// Verdict rule (stated in the report, applied to the "advantage" = the paired difference
// oriented so that positive favours the reference arm):
//   supported     median advantage > tolerance, and either every non-tied seed favours the
//                 reference arm or the Wilcoxon p < 0.10; needs at least 2 non-tied seeds
//   contradicted  the same with the roles swapped (the baseline arm is better)
//   no difference |median advantage| <= tolerance
//   mixed         anything else (the seeds disagree): not supported
//   no data       fewer than 2 paired seeds, or an arm/season missing
#pragma once

#include <string>
#include <vector>

#include "sarseg/experiment/summary.h"

namespace sarseg::experiment {

enum class Direction { kHigherIsBetter, kLowerIsBetter };

struct ArmFigure {
  std::string arm;
  std::vector<double> per_seed;  // summary.seeds order, NaN where missing
  Spread spread;
};

struct FigureAnalysis {
  std::string key;    // e.g. "test.last.melt.weighted_f1", "convergence.epochs_to_best_val_loss"
  std::string label;  // human words
  std::string unit;   // "", "epochs", "s", "samples"
  Direction direction = Direction::kHigherIsBetter;
  double tolerance = 0;  // differences within it count as ties
  std::vector<ArmFigure> arms;
  bool has_paired = false;
  PairedComparison paired;  // reference - baseline (raw difference, not oriented)
  const ArmFigure* find(const std::string& arm) const;
};

// kInconclusive: the data cannot carry a verdict (e.g. too many runs whose curves did not flatten).
enum class VerdictLevel {
  kSupported,
  kContradicted,
  kNoDifference,
  kMixed,
  kNoData,
  kInconclusive
};
std::string to_string(VerdictLevel level);

struct Verdict {
  std::string question;    // "Does ImageNet pretraining converge faster?"
  std::string figure_key;  // the figure the verdict is computed from
  VerdictLevel level = VerdictLevel::kNoData;
  std::string answer;                   // one sentence in plain words, with the numbers behind it
  std::vector<std::string> supporting;  // the same rule applied to secondary figures
};

struct Analysis {
  std::vector<FigureAnalysis> figures;
  std::vector<Verdict> verdicts;
  std::vector<std::string> seasons;  // test seasons present, in report order
  std::string rule;                  // the verdict rule in words
  const FigureAnalysis* find(const std::string& key) const;
};

Analysis analyse(const ExperimentSummary& summary);
// The questions of an ssl arm (ArmDescription::init "ssl"): does SAR self-supervised pretraining
// beat random initialisation, and does it beat ImageNet? Each judged by the verdict rule on the
// pooled test figure of the headline metric (last-epoch weights), paired per seed, with the
// seasons, the best checkpoint and convergence as support. analyse() calls it; no ssl arm, no
// verdict.
void add_ssl_verdicts(const ExperimentSummary& summary, Analysis& analysis);

// The verdict for one figure (exposed for tests). `subject` names what is compared, e.g.
// "melt test weighted F1 (last-epoch weights)".
Verdict judge(const FigureAnalysis& figure, const std::string& reference_arm,
              const std::string& baseline_arm, const std::string& question);

}  // namespace sarseg::experiment
