// Verdicts of the ssl arm against random and ImageNet initialisation (analysis.h).
#include <algorithm>

#include "sarseg/experiment/analysis.h"

namespace sarseg::experiment {
namespace {

const ArmDescription* arm_with_init(const ExperimentSummary& summary, const std::string& init) {
  const auto it = std::find_if(summary.arms.begin(), summary.arms.end(),
                               [&](const ArmDescription& a) { return a.init == init; });
  return it == summary.arms.end() ? nullptr : &*it;
}

// `figure` with its paired comparison recomputed for `reference` - `baseline` (the analysis pairs
// the experiment's reference and baseline arms only).
FigureAnalysis paired_between(const FigureAnalysis& figure, const std::string& reference,
                              const std::string& baseline) {
  FigureAnalysis copy = figure;
  copy.has_paired = false;
  const ArmFigure* a = figure.find(reference);
  const ArmFigure* b = figure.find(baseline);
  if (a && b) {
    copy.paired = compare_paired(a->per_seed, b->per_seed, figure.tolerance);
    copy.has_paired = true;
  }
  return copy;
}

}  // namespace

void add_ssl_verdicts(const ExperimentSummary& summary, Analysis& analysis) {
  const ArmDescription* ssl = arm_with_init(summary, "ssl");
  if (!ssl) return;
  const std::string& h = summary.headline_metric;
  std::vector<std::string> secondary;
  for (const auto& season : analysis.seasons)
    if (season != "all") secondary.push_back("test.last." + season + "." + h);
  secondary.push_back("test.best.all." + h);
  secondary.push_back("convergence.epochs_to_95pct_final_f1");
  const std::vector<std::pair<std::string, std::string>> questions = {
      {"random",
       "Does SAR self-supervised pretraining (" + ssl->name + ") beat random initialisation?"},
      {"imagenet", "Does SAR self-supervised pretraining (" + ssl->name + ") beat ImageNet?"}};
  for (const auto& [init, question] : questions) {
    const ArmDescription* other = arm_with_init(summary, init);
    if (!other) continue;
    const FigureAnalysis* primary = analysis.find("test.last.all." + h);
    if (!primary) {
      Verdict none;
      none.question = question;
      none.answer = "Cannot be answered: no run has pooled test metrics.";
      analysis.verdicts.push_back(none);
      continue;
    }
    Verdict verdict =
        judge(paired_between(*primary, ssl->name, other->name), ssl->name, other->name, question);
    for (const auto& key : secondary) {
      const FigureAnalysis* figure = analysis.find(key);
      if (!figure) continue;
      const Verdict v =
          judge(paired_between(*figure, ssl->name, other->name), ssl->name, other->name, "");
      verdict.supporting.push_back(figure->label + ": " + to_string(v.level) + ". " + v.answer);
    }
    analysis.verdicts.push_back(std::move(verdict));
  }
}

}  // namespace sarseg::experiment
