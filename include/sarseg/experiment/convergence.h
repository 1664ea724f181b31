// Convergence measured honestly: a run that stops at the epoch cap has not converged, so its
// epochs-to-best are censored (lower bounds), not measurements.
//
// A run has converged when early stopping ended it, or when it ran a schedule that ends training
// by design at the epoch cap (cosine annealing over exactly train.max_epochs, one cycle: the
// learning rate reaches schedule.cosine_eta_min in the last epoch, so the curve flattens by
// construction). Everything else that stopped at the cap is censored.
//
// The convergence verdict with censored runs (judge_convergence), per seed pair:
//   both converged         the measured difference (a vote when beyond the tolerance)
//   only one converged     a vote for the converged arm (the other's figure is only a bound)
//   neither converged      a tie, and the answer says so
// "inconclusive: curves did not flatten in N of M runs" when at least half of the pairs have
// neither arm converged, or when censoring leaves fewer than 2 votes. Otherwise the votes decide
// as in judge(): supported when every vote (or a sign test below 0.10) favours the reference arm,
// contradicted the other way round, mixed when they disagree. Without any censored run the
// verdict is judge()'s.
#pragma once

#include <string>
#include <vector>

#include "sarseg/experiment/analysis.h"
#include "sarseg/experiment/summary.h"

namespace sarseg::experiment {

// Sets run.censored and run.convergence from run.stop_reason. `schedule_ends_at_budget`: the
// run's schedule ends training at train.max_epochs by design.
void assess_convergence(RunResult& run, bool schedule_ends_at_budget);

// Runs of `runs` that are censored.
int64_t censored_count(const std::vector<RunResult>& runs);
// "2 of 6 runs censored (stopped at the epoch cap without converging)" or "no run censored".
std::string censored_text(const std::vector<RunResult>& runs);

// The verdict on a convergence figure of `summary` (reference vs baseline arm), censoring
// handled as above.
Verdict judge_convergence(const ExperimentSummary& summary, const FigureAnalysis& figure,
                          const std::string& question);

}  // namespace sarseg::experiment
