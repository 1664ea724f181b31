// Label efficiency (experiment.label_fractions): each arm trained on nested, seeded shares of the
// labelled training scenes, the rest of the protocol unchanged, and what the report says of it.
//
//   labelled_scene_indices(seasons, 0.25, seed)  // the scenes a run with 25 % of the labels trains
//   on LabelEfficiency le = analyse_label_efficiency(summary);
//
// Per test group (season, "all", and the same per test domain): the headline test metric
// (last-epoch weights) against the labelled fraction per arm, median and min-max over seeds;
// paired reference - baseline tests at each fraction; and "labels saved": the smallest fraction at
// which the reference arm matches the baseline arm trained on every label (median paired
// difference >= -0.002), with the per-seed smallest matching fraction as its uncertainty.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sarseg/experiment/analysis.h"
#include "sarseg/experiment/statistics.h"
#include "sarseg/experiment/summary.h"

namespace sarseg::experiment {

// Indices of the labelled scenes at `fraction` among scenes with these season tags: per season,
// the scenes in an order shuffled by `seed` (the same order for every fraction), of which the
// first ceil(fraction * n) (at least one) are kept. So the choice is nested (the scenes of 0.1 are
// among those of 0.25), stratified by season and reproducible on any platform. Sorted.
std::vector<size_t> labelled_scene_indices(const std::vector<std::string>& seasons, double fraction,
                                           int64_t seed);

// "0.25": the fraction as written in run names and folders.
std::string fraction_text(double fraction);

// The run of `arm` and `seed` trained on `fraction` of the labels (summary.runs at 1).
const RunResult* find_fraction_run(const ExperimentSummary& summary, const std::string& arm,
                                   int64_t seed, double fraction);

struct LabelEfficiencyGroup {
  std::string domain;                                    // "" = in domain
  std::string season;                                    // "freeze-up", "melt", "all", ...
  std::vector<double> fractions;                         // ascending, ending with 1
  std::vector<std::vector<std::vector<double>>> values;  // [arm][fraction][seed], NaN missing
  std::vector<std::vector<Spread>> spreads;              // [arm][fraction]
  std::vector<PairedComparison> paired;                  // reference(f) - baseline(f)
  std::vector<PairedComparison> versus_full;             // reference(f) - baseline(1)
  double matching_fraction =
      0;  // smallest f with median reference(f) - baseline(1) >= -tol; 0 none
  std::vector<double> seed_matching_fractions;  // per seed, NaN where no fraction matches
  Spread seed_matching_spread;
  Verdict verdict;
};

struct LabelEfficiency {
  std::vector<double> fractions;
  std::vector<std::string> arms;
  std::string metric;  // the summary's headline metric
  std::vector<LabelEfficiencyGroup> groups;
  bool empty() const { return groups.empty(); }
};

// Empty when the summary has no label fractions.
LabelEfficiency analyse_label_efficiency(const ExperimentSummary& summary);

nlohmann::json label_efficiency_json(const LabelEfficiency& le);
std::string label_efficiency_markdown(const ExperimentSummary& summary, const LabelEfficiency& le);
// The section with one chart (svg_chart.h) per group drawn from the runs' data.
std::string label_efficiency_html(const ExperimentSummary& summary, const LabelEfficiency& le);

}  // namespace sarseg::experiment
