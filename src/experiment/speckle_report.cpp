#include "sarseg/experiment/speckle_report.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "sarseg/experiment/report.h"
#include "sarseg/util/strings.h"

namespace sarseg::experiment {

std::vector<std::string> filters_of(const ExperimentSummary& summary) {
  std::vector<std::string> filters;
  for (const auto& run : summary.runs)
    if (std::find(filters.begin(), filters.end(), run.speckle_filter) == filters.end())
      filters.push_back(run.speckle_filter);
  const auto none = std::find(filters.begin(), filters.end(), "none");
  if (none != filters.end()) std::rotate(filters.begin(), none, none + 1);
  return filters;
}

ExperimentSummary runs_with_filter(const ExperimentSummary& summary, const std::string& filter) {
  ExperimentSummary out = summary;
  out.runs.clear();
  for (const auto& run : summary.runs)
    if (run.speckle_filter == filter) out.runs.push_back(run);
  return out;
}

std::vector<FilterVerdicts> verdicts_per_filter(const ExperimentSummary& summary) {
  std::vector<FilterVerdicts> out;
  for (const auto& filter : filters_of(summary)) {
    const ExperimentSummary runs = runs_with_filter(summary, filter);
    out.push_back({filter, runs.runs.size(), analyse(runs).verdicts});
  }
  return out;
}

std::vector<std::string> speckle_axis_findings(const std::vector<FilterVerdicts>& per_filter) {
  std::vector<std::string> findings;
  if (per_filter.size() < 2) return findings;
  for (const auto& first : per_filter.front().verdicts) {
    std::vector<std::string> levels;
    std::set<std::string> distinct;
    for (const auto& f : per_filter) {
      std::string level = "no data";
      for (const auto& v : f.verdicts)
        if (v.question == first.question) level = to_string(v.level);
      levels.push_back(f.filter + ": " + level);
      distinct.insert(level);
    }
    findings.push_back(first.question + " " +
                       (distinct.size() == 1 ? "Filtering does not change the answer ("
                                             : "Filtering changes the answer (") +
                       join(levels, "; ") + ").");
  }
  return findings;
}

nlohmann::json speckle_axis_json(const std::vector<FilterVerdicts>& per_filter) {
  nlohmann::json filters = nlohmann::json::array();
  for (const auto& f : per_filter) {
    nlohmann::json verdicts = nlohmann::json::array();
    for (const auto& v : f.verdicts)
      verdicts.push_back({{"question", v.question},
                          {"figure", v.figure_key},
                          {"verdict", to_string(v.level)},
                          {"answer", v.answer}});
    filters.push_back({{"filter", f.filter}, {"runs", f.runs}, {"verdicts", verdicts}});
  }
  return {{"filters", filters}, {"findings", speckle_axis_findings(per_filter)}};
}

std::string speckle_axis_markdown(const std::vector<FilterVerdicts>& per_filter) {
  std::ostringstream md;
  md << "\n## Speckle filtering\n\nThe verdicts above are those of the unfiltered runs (or of "
        "the first filter); each filter's runs judged alone:\n\n";
  for (const auto& finding : speckle_axis_findings(per_filter))
    md << "- " << finding << "\n";
  md << "\n| filter | runs | question | verdict | answer |\n|---|---:|---|---|---|\n";
  for (const auto& f : per_filter)
    for (const auto& v : f.verdicts)
      md << "| " << f.filter << " | " << f.runs << " | " << v.question << " | "
         << to_string(v.level) << " | " << v.answer << " |\n";
  return md.str();
}

std::string speckle_axis_chart_svg(const ExperimentSummary& summary) {
  // One chart per filter (its seasons as groups), so that the group labels stay short.
  std::string charts;
  for (const auto& filter : filters_of(summary))
    charts +=
        season_bar_chart_svg(summary, analyse(runs_with_filter(summary, filter)),
                             summary.headline_metric + " · filter " + filter + " · last epoch");
  return charts;
}

std::string speckle_axis_html(const ExperimentSummary& summary,
                              const std::vector<FilterVerdicts>& per_filter) {
  std::ostringstream html;
  html << "<h2 id='speckle'>Speckle filtering</h2><p>The verdicts above are those of the "
          "unfiltered runs (or of the first filter); each filter's runs judged alone. Bars: "
          "test figures per season with the last-epoch weights, median over seeds; whiskers: "
          "minimum and maximum.</p><div class='charts'>"
       << speckle_axis_chart_svg(summary) << "</div><ul>";
  for (const auto& finding : speckle_axis_findings(per_filter))
    html << "<li>" << escape_xml(finding) << "</li>";
  html << "</ul><table><tr><th>filter</th><th>runs</th><th>question</th><th>verdict</th>"
          "<th>answer</th></tr>";
  for (const auto& f : per_filter)
    for (const auto& v : f.verdicts)
      html << "<tr><td>" << escape_xml(f.filter) << "</td><td>" << f.runs << "</td><td>"
           << escape_xml(v.question) << "</td><td>" << escape_xml(to_string(v.level)) << "</td><td>"
           << escape_xml(v.answer) << "</td></tr>";
  html << "</table>";
  return html.str();
}

}  // namespace sarseg::experiment
