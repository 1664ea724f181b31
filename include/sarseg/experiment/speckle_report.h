// The report side of the speckle-filter axis (experiment/speckle_axis.h): each filter's runs
// judged alone, and whether the verdicts differ between filters. Torch-free, like the report.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sarseg/experiment/analysis.h"
#include "sarseg/experiment/summary.h"

namespace sarseg::experiment {

// Filters of the summary's runs, in the order they first appear ("none" first when present).
std::vector<std::string> filters_of(const ExperimentSummary& summary);
// The summary with only the runs of `filter`.
ExperimentSummary runs_with_filter(const ExperimentSummary& summary, const std::string& filter);

// The verdicts of each filter's runs (analyse() on them), for summary.json and the report.
struct FilterVerdicts {
  std::string filter;
  size_t runs = 0;
  std::vector<Verdict> verdicts;
};
std::vector<FilterVerdicts> verdicts_per_filter(const ExperimentSummary& summary);
// Sentences saying, per question, whether the verdict differs between the filters.
std::vector<std::string> speckle_axis_findings(const std::vector<FilterVerdicts>& per_filter);
nlohmann::json speckle_axis_json(const std::vector<FilterVerdicts>& per_filter);
std::string speckle_axis_markdown(const std::vector<FilterVerdicts>& per_filter);
// Test figures per season and arm, one chart per filter (median over seeds, min-max whiskers).
std::string speckle_axis_chart_svg(const ExperimentSummary& summary);
std::string speckle_axis_html(const ExperimentSummary& summary,
                              const std::vector<FilterVerdicts>& per_filter);

}  // namespace sarseg::experiment
