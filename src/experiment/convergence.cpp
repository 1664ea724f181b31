#include "sarseg/experiment/convergence.h"

#include <cmath>
#include <cstdio>

#include "sarseg/experiment/statistics.h"

namespace sarseg::experiment {

namespace {

constexpr double kSignificance = 0.10;

std::string number_text(double v, const std::string& unit) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, unit == "samples" ? "%+.0f" : "%+.1f", v);
  return std::string(buffer) + (unit.empty() ? "" : " " + unit);
}

std::string p_text(double p) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", p);
  return buffer;
}

}  // namespace

void assess_convergence(RunResult& run, bool schedule_ends_at_budget) {
  const std::string& reason = run.stop_reason;
  if (reason.rfind("early stopping", 0) == 0) {
    run.censored = false;
    run.convergence = "early stopping";
  } else if (schedule_ends_at_budget && reason.rfind("max", 0) == 0) {
    run.censored = false;
    run.convergence = "schedule completed";
  } else {
    run.censored = true;
    run.convergence = "censored: " + reason;
  }
}

int64_t censored_count(const std::vector<RunResult>& runs) {
  int64_t count = 0;
  for (const auto& run : runs)
    count += run.censored ? 1 : 0;
  return count;
}

std::string censored_text(const std::vector<RunResult>& runs) {
  const int64_t censored = censored_count(runs);
  if (censored == 0) return "no run censored";
  return std::to_string(censored) + " of " + std::to_string(runs.size()) +
         " runs censored (stopped at the epoch cap without converging)";
}

Verdict judge_convergence(const ExperimentSummary& summary, const FigureAnalysis& figure,
                          const std::string& question) {
  const std::string& ref = summary.reference_arm;
  const std::string& base = summary.baseline_arm;
  const ArmFigure* ref_figure = figure.find(ref);
  const ArmFigure* base_figure = figure.find(base);
  bool any_censored = false;
  for (int64_t seed : summary.seeds)
    for (const auto* arm : {&ref, &base})
      if (const RunResult* run = summary.find_run(*arm, seed); run && run->censored)
        any_censored = true;
  if (!any_censored || !ref_figure || !base_figure) return judge(figure, ref, base, question);

  Verdict verdict;
  verdict.question = question;
  verdict.figure_key = figure.key;
  const double orientation = figure.direction == Direction::kHigherIsBetter ? 1.0 : -1.0;
  int64_t pairs = 0, measured = 0, only_ref = 0, only_base = 0, neither = 0;
  int64_t favour_ref = 0, favour_base = 0, censored_runs = 0;
  std::vector<double> measured_differences;
  for (size_t i = 0; i < summary.seeds.size(); ++i) {
    const RunResult* r = summary.find_run(ref, summary.seeds[i]);
    const RunResult* b = summary.find_run(base, summary.seeds[i]);
    const double rv = ref_figure->per_seed[i], bv = base_figure->per_seed[i];
    if (!r || !b || !std::isfinite(rv) || !std::isfinite(bv)) continue;
    ++pairs;
    censored_runs += (r->censored ? 1 : 0) + (b->censored ? 1 : 0);
    if (!r->censored && !b->censored) {
      ++measured;
      const double d = rv - bv;
      measured_differences.push_back(d);
      if (orientation * d > figure.tolerance) ++favour_ref;
      if (orientation * d < -figure.tolerance) ++favour_base;
    } else if (!r->censored) {
      ++only_ref;
      ++favour_ref;
    } else if (!b->censored) {
      ++only_base;
      ++favour_base;
    } else {
      ++neither;
    }
  }
  if (pairs < 2) {
    verdict.level = VerdictLevel::kNoData;
    verdict.answer = "Cannot be answered: fewer than 2 seeds have " + figure.label + " for both " +
                     ref + " and " + base + ".";
    return verdict;
  }
  const Spread measured_spread = spread_of(measured_differences);
  const std::string breakdown =
      std::to_string(measured) + " pair(s) where both converged" +
      (measured > 0 ? " (median difference " + ref + " - " + base + " " +
                          number_text(measured_spread.median, figure.unit) + ")"
                    : "") +
      ", " + std::to_string(only_ref) + " where only " + ref + " converged (counted for " + ref +
      "), " + std::to_string(only_base) + " where only " + base + " converged (counted for " +
      base + "), " + std::to_string(neither) +
      " where neither converged (ties: their figures are lower bounds)";
  const int64_t votes = favour_ref + favour_base;
  const std::string flatten = "curves did not flatten in " + std::to_string(censored_runs) +
                              " of " + std::to_string(2 * pairs) + " runs";
  if (2 * neither >= pairs || votes < 2) {
    if (votes == 0 && neither == 0) {
      verdict.level = VerdictLevel::kNoDifference;
      verdict.answer = "No meaningful difference in " + figure.label + ": " + breakdown + ".";
      return verdict;
    }
    verdict.level = VerdictLevel::kInconclusive;
    verdict.answer = "Inconclusive: " + flatten +
                     " (stopped at the epoch cap without early "
                     "stopping); " +
                     breakdown +
                     ". Raise train.max_epochs or use a schedule "
                     "that ends training (schedule.name=cosine, schedule.cosine_t0 = "
                     "train.max_epochs).";
    return verdict;
  }
  const double p = sign_test_p_value(favour_ref, favour_base);
  const std::string tests = "sign-test p = " + p_text(p) + " over " + std::to_string(votes) +
                            " deciding pair(s); " + flatten;
  if (favour_ref > favour_base && (favour_base == 0 || p < kSignificance)) {
    verdict.level = VerdictLevel::kSupported;
    verdict.answer = "Yes: " + ref + " is better in " + figure.label + " in " +
                     std::to_string(favour_ref) + " of " + std::to_string(pairs) + " seeds; " +
                     breakdown + "; " + tests + ".";
  } else if (favour_base > favour_ref && (favour_ref == 0 || p < kSignificance)) {
    verdict.level = VerdictLevel::kContradicted;
    verdict.answer = "No, the opposite: " + base + " is better in " + figure.label + " in " +
                     std::to_string(favour_base) + " of " + std::to_string(pairs) + " seeds; " +
                     breakdown + "; " + tests + ".";
  } else {
    verdict.level = VerdictLevel::kMixed;
    verdict.answer = "Not supported: the seeds disagree on " + figure.label + " (" +
                     std::to_string(favour_ref) + " favour " + ref + ", " +
                     std::to_string(favour_base) + " favour " + base + "); " + breakdown + "; " +
                     tests + ".";
  }
  return verdict;
}

}  // namespace sarseg::experiment
