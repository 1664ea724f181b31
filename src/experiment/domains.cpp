#include "sarseg/experiment/domains.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "sarseg/experiment/report.h"
#include "sarseg/experiment/svg_chart.h"

namespace sarseg::experiment {

namespace {

constexpr double kMetricTolerance = 0.002;

std::string signed_fixed(double v) {
  return svg::format_signed(v, 4);
}

std::string headline_key(const ExperimentSummary& summary) {
  return "test.last.all." + summary.headline_metric;
}

// Per seed reference - baseline of `figure`, NaN where either is missing.
std::vector<double> advantage_per_seed(const ExperimentSummary& summary,
                                       const FigureAnalysis* figure) {
  std::vector<double> advantage(summary.seeds.size(), std::nan(""));
  if (!figure) return advantage;
  const ArmFigure* ref = figure->find(summary.reference_arm);
  const ArmFigure* base = figure->find(summary.baseline_arm);
  if (!ref || !base) return advantage;
  for (size_t i = 0; i < advantage.size(); ++i)
    advantage[i] = ref->per_seed[i] - base->per_seed[i];
  return advantage;
}

std::string css_of(VerdictLevel level) {
  return level == VerdictLevel::kSupported      ? "v-yes"
         : level == VerdictLevel::kContradicted ? "v-no"
                                                : "v-open";
}

}  // namespace

ExperimentSummary domain_view(const ExperimentSummary& summary, const std::string& domain) {
  ExperimentSummary view = summary;
  view.quicklooks.clear();
  for (auto* runs : {&view.runs, &view.fraction_runs})
    for (auto& run : *runs) {
      std::vector<Evaluation> kept;
      for (auto& e : run.evaluations)
        if (e.domain == domain) {
          e.domain.clear();
          kept.push_back(std::move(e));
        }
      run.evaluations = std::move(kept);
    }
  return view;
}

std::vector<DomainAnalysis> analyse_domains(const ExperimentSummary& summary,
                                            const Analysis& in_domain) {
  std::vector<DomainAnalysis> out;
  const std::string& ref = summary.reference_arm;
  const std::string& base = summary.baseline_arm;
  const std::string key = headline_key(summary);
  const FigureAnalysis* inside = in_domain.find(key);
  const Verdict inside_verdict =
      inside ? judge(*inside, ref, base, "") : Verdict{"", key, VerdictLevel::kNoData, "", {}};
  for (const auto& domain : summary.domains) {
    DomainAnalysis d;
    d.domain = domain;
    d.analysis = analyse(domain_view(summary, domain.name));
    const FigureAnalysis* outside = d.analysis.find(key);

    FigureAnalysis& change = d.advantage_change;
    change.key = "domain." + domain.name + ".advantage_change." + summary.headline_metric;
    change.label = "the " + ref + " advantage in " + summary.headline_metric +
                   " (all test scenes, last-epoch weights), domain " + domain.name +
                   " minus in domain";
    change.tolerance = kMetricTolerance;
    const auto out_adv = advantage_per_seed(summary, outside);
    const auto in_adv = advantage_per_seed(summary, inside);
    change.arms = {{"out of domain", out_adv, spread_of(out_adv)},
                   {"in domain", in_adv, spread_of(in_adv)}};
    change.paired = compare_paired(out_adv, in_adv, kMetricTolerance);
    change.has_paired = outside && inside;

    Verdict& holds = d.holds;
    holds.question = "Does the " + ref + " advantage over " + base + " hold out of domain (" +
                     domain.name + ": " + domain.description + ")?";
    holds.figure_key = key;
    if (!outside) {
      holds.level = VerdictLevel::kNoData;
      holds.answer = "Cannot be answered: no run has test metrics in this domain.";
    } else {
      const Verdict v = judge(*outside, ref, base, "");
      holds.level = v.level;
      const std::string lead = v.level == VerdictLevel::kSupported      ? "Yes, it holds: "
                               : v.level == VerdictLevel::kContradicted ? "No, it reverses: "
                               : v.level == VerdictLevel::kNoDifference ? "No, it vanishes: "
                               : v.level == VerdictLevel::kNoData       ? ""
                                                                        : "Not shown: ";
      holds.answer = lead + v.answer + " In domain the same question is " +
                     to_string(inside_verdict.level) + "; the advantage changes by a median " +
                     signed_fixed(change.paired.spread.median) + " (range " +
                     signed_fixed(change.paired.spread.min) + " to " +
                     signed_fixed(change.paired.spread.max) + ") out of domain.";
    }
    out.push_back(std::move(d));
  }
  return out;
}

nlohmann::json domains_json(const std::vector<DomainAnalysis>& domains) {
  nlohmann::json out = nlohmann::json::array();
  const auto number = [](double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  };
  for (const auto& d : domains) {
    nlohmann::json verdicts = nlohmann::json::array();
    for (const auto& v : d.analysis.verdicts)
      verdicts.push_back({{"question", v.question},
                          {"figure", v.figure_key},
                          {"verdict", to_string(v.level)},
                          {"answer", v.answer}});
    nlohmann::json figures = nlohmann::json::array();
    for (const auto& f : d.analysis.figures) {
      if (f.key.rfind("test.", 0) != 0 && f.key.rfind("calibration.", 0) != 0) continue;
      nlohmann::json arms = nlohmann::json::object();
      for (const auto& a : f.arms) {
        nlohmann::json per_seed = nlohmann::json::array();
        for (double v : a.per_seed)
          per_seed.push_back(number(v));
        arms[a.arm] = {{"per_seed", per_seed},
                       {"median", number(a.spread.count ? a.spread.median : NAN)},
                       {"min", number(a.spread.count ? a.spread.min : NAN)},
                       {"max", number(a.spread.count ? a.spread.max : NAN)}};
      }
      nlohmann::json entry = {{"key", f.key}, {"label", f.label}, {"arms", arms}};
      if (f.has_paired)
        entry["paired"] = {{"median", number(f.paired.spread.median)},
                           {"wilcoxon_p", f.paired.wilcoxon_p},
                           {"sign_test_p", f.paired.sign_test_p}};
      figures.push_back(entry);
    }
    out.push_back({{"name", d.domain.name},
                   {"description", d.domain.description},
                   {"scenes", d.domain.scenes},
                   {"seasons", d.analysis.seasons},
                   {"holds",
                    {{"question", d.holds.question},
                     {"verdict", to_string(d.holds.level)},
                     {"answer", d.holds.answer},
                     {"advantage_change_median", number(d.advantage_change.paired.spread.median)}}},
                   {"verdicts", verdicts},
                   {"figures", figures}});
  }
  return out;
}

std::string domains_markdown(const ExperimentSummary& summary,
                             const std::vector<DomainAnalysis>& domains) {
  if (domains.empty()) return "";
  std::ostringstream md;
  md << "\n## Other domains\n\nEvery test figure again on the scenes of each test domain "
        "(data.test_domains), with the same runs and rule.\n\n";
  for (const auto& d : domains) {
    md << "### " << d.domain.name << " (" << d.domain.description << ", " << d.domain.scenes
       << " scenes)\n\n**" << d.holds.question << "** — *" << to_string(d.holds.level) << "*. "
       << d.holds.answer << "\n\n";
    for (const auto& v : d.analysis.verdicts)
      if (v.figure_key.rfind("convergence.", 0) != 0)
        md << "- " << v.question << " — *" << to_string(v.level) << "*. " << v.answer << "\n";
    md << "\n"
       << figure_table_markdown(domain_view(summary, d.domain.name), d.analysis, "test.") << "\n";
  }
  return md.str();
}

std::string domains_html(const ExperimentSummary& summary,
                         const std::vector<DomainAnalysis>& domains) {
  if (domains.empty()) return "";
  std::ostringstream html;
  html << "<h2 id='domains'>Other domains</h2><p><small>Every test figure again on the scenes of "
          "each test domain (data.test_domains), with the same runs and rule. Bars: median over "
          "seeds; whiskers: minimum and maximum.</small></p>";
  for (const auto& d : domains) {
    const ExperimentSummary view = domain_view(summary, d.domain.name);
    html << "<h3>" << svg::escape_markup(d.domain.name) << " <small>("
         << svg::escape_markup(d.domain.description) << ", " << d.domain.scenes
         << " scenes)</small></h3><div class='verdict " << css_of(d.holds.level) << "'><div><b>"
         << svg::escape_markup(d.holds.question) << "</b> <span class='level'>"
         << svg::escape_markup(to_string(d.holds.level)) << "</span></div><div>"
         << svg::escape_markup(d.holds.answer) << "</div><ul>";
    for (const auto& v : d.analysis.verdicts)
      if (v.figure_key.rfind("convergence.", 0) != 0)
        html << "<li><small><b>" << svg::escape_markup(v.question) << "</b> "
             << svg::escape_markup(to_string(v.level)) << ". " << svg::escape_markup(v.answer)
             << "</small></li>";
    html << "</ul></div>";
    html << "<div class='charts'>"
         << season_bar_chart_svg(summary, d.analysis,
                                 summary.headline_metric + " per season · domain " + d.domain.name +
                                     " · last-epoch weights")
         << "</div>" << figure_table_html(view, d.analysis, "test.");
  }
  return html.str();
}

}  // namespace sarseg::experiment
