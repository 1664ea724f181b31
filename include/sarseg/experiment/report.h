// The experiment report: summary.json (every figure, machine-readable), report.md and one
// self-contained report.html (inline SVG charts drawn by svg_chart.h, quicklook PNGs as data
// URIs, no network access, no external files).
//
// The page's own script sets document.title to "ok: ..." once it has loaded and every image has
// decoded, or to "error: ..." on any script error or broken image, so a headless browser can
// check that it rendered.
#pragma once

#include <filesystem>
#include <string>

#include "sarseg/experiment/analysis.h"
#include "sarseg/experiment/summary.h"

namespace sarseg::experiment {

struct ReportFiles {
  std::filesystem::path summary_json;
  std::filesystem::path markdown;
  std::filesystem::path html;
};

// The summary plus its analysis, as written to summary.json.
nlohmann::json summary_document(const ExperimentSummary& summary, const Analysis& analysis);

std::string render_markdown(const ExperimentSummary& summary, const Analysis& analysis);
// Quicklook file names in the summary are resolved against `experiment_dir` and embedded;
// a missing file is reported in the page (and fails the page's own check), never silently dropped.
std::string render_html(const ExperimentSummary& summary, const Analysis& analysis,
                        const std::filesystem::path& experiment_dir);

// Writes summary.json, report.md and report.html into `experiment_dir` (atomically).
ReportFiles write_report(const ExperimentSummary& summary,
                         const std::filesystem::path& experiment_dir);

// The report's table of the figures whose key starts with `prefix` ("test.", "convergence."):
// per arm median (min–max) over seeds, the paired difference and its p-values. For the sections
// in other files (label_efficiency.h, domains.h).
std::string figure_table_markdown(const ExperimentSummary& summary, const Analysis& analysis,
                                  const std::string& prefix);
std::string figure_table_html(const ExperimentSummary& summary, const Analysis& analysis,
                              const std::string& prefix);

// A bar chart of the last-epoch test figure (the headline metric) per season and arm: median
// over seeds, whiskers from minimum to maximum. For the domain and speckle sections.
std::string season_bar_chart_svg(const ExperimentSummary& summary, const Analysis& analysis,
                                 const std::string& title);

// The ssl arm's pretraining section (objective, cost, the collapse monitor's trajectory); "" when
// the summary has no pretraining.
std::string pretraining_markdown(const ExperimentSummary& summary);
std::string pretraining_html(const ExperimentSummary& summary);
// Standard base64 (RFC 4648) of `bytes`; exposed for tests.
std::string base64_encode(const std::string& bytes);

}  // namespace sarseg::experiment
