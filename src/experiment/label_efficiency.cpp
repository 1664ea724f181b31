#include "sarseg/experiment/label_efficiency.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "sarseg/experiment/convergence.h"
#include "sarseg/experiment/svg_chart.h"
#include "sarseg/util/find.h"

namespace sarseg::experiment {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMatchTolerance = 0.002;  // as the analysis' metric tolerance
const std::vector<std::string> kSeasonOrder = {"freeze-up", "winter", "melt", "unknown", "all"};

bool same_fraction(double a, double b) {
  return std::abs(a - b) < 1e-9;
}

std::string fixed(double v, int decimals) {
  return svg::format_fixed(v, decimals);
}

std::string signed_fixed(double v, int decimals) {
  return svg::format_signed(v, decimals);
}

std::string p_text(double p) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", p);
  return buffer;
}

std::string percent(double fraction) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g %%", 100.0 * fraction);
  return buffer;
}

double metric_of(const RunResult& run, const std::string& domain, const std::string& season,
                 const std::string& metric) {
  const Evaluation* e = run.find("last", domain);
  const SeasonMetrics* m = e ? e->find(season) : nullptr;
  if (!m) return kNaN;
  if (metric == "weighted_f1") return m->weighted_f1;
  const auto it = m->scores.find(metric);
  return it == m->scores.end() ? kNaN : it->second;
}

std::vector<std::string> seasons_of(const ExperimentSummary& summary, const std::string& domain) {
  std::vector<std::string> seasons;
  for (const auto* runs : {&summary.runs, &summary.fraction_runs})
    for (const auto& run : *runs)
      for (const auto& e : run.evaluations)
        if (e.domain == domain)
          for (const auto& m : e.seasons)
            if (std::find(seasons.begin(), seasons.end(), m.season) == seasons.end())
              seasons.push_back(m.season);
  const auto rank = [](const std::string& s) {
    return std::find(kSeasonOrder.begin(), kSeasonOrder.end(), s) - kSeasonOrder.begin();
  };
  std::stable_sort(seasons.begin(), seasons.end(),
                   [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  return seasons;
}

std::string group_words(const LabelEfficiencyGroup& g) {
  std::string words = g.season == "all" ? "all test scenes" : g.season + " test scenes";
  if (!g.domain.empty()) words += " of domain " + g.domain;
  return words;
}

Verdict label_verdict(const ExperimentSummary& summary, const LabelEfficiencyGroup& g,
                      const std::string& metric) {
  const std::string& ref = summary.reference_arm;
  const std::string& base = summary.baseline_arm;
  Verdict v;
  v.question = "Does " + ref + " need fewer labels to match " + base + " trained on every label (" +
               group_words(g) + ")?";
  v.figure_key = "labels." + (g.domain.empty() ? "" : g.domain + ".") + g.season + "." + metric;
  const size_t full = g.fractions.size() - 1;
  if (g.versus_full.empty() || g.versus_full[full].differences.size() < 2) {
    v.level = VerdictLevel::kNoData;
    v.answer = "Cannot be answered: fewer than 2 seeds have both arms at full labels.";
    return v;
  }
  // Seeds with both arms at full labels; a seed saves labels when it matches below 100 %.
  const auto seeds = static_cast<int64_t>(g.versus_full[full].differences.size());
  int64_t saving = 0;
  for (double f : g.seed_matching_fractions)
    if (std::isfinite(f) && f < 1.0 - 1e-9) ++saving;
  const std::string uncertainty =
      g.seed_matching_spread.count > 0
          ? "per seed the smallest matching fraction is " + percent(g.seed_matching_spread.median) +
                " (median; range " + percent(g.seed_matching_spread.min) + " to " +
                percent(g.seed_matching_spread.max) + ", " +
                std::to_string(g.seed_matching_spread.count) + " of " + std::to_string(seeds) +
                " seeds match at some fraction)"
          : "no seed matches at any fraction";
  if (g.matching_fraction > 0 && g.matching_fraction < 1.0 - 1e-9) {
    size_t at = 0;
    for (size_t i = 0; i < g.fractions.size(); ++i)
      if (same_fraction(g.fractions[i], g.matching_fraction)) at = i;
    const PairedComparison& p = g.versus_full[at];
    const std::string numbers =
        "with " + percent(g.matching_fraction) + " of the labels the median paired difference " +
        ref + " - " + base + "(all labels) is " + signed_fixed(p.spread.median, 4) + " (range " +
        signed_fixed(p.spread.min, 4) + " to " + signed_fixed(p.spread.max, 4) +
        ", Wilcoxon p = " + p_text(p.wilcoxon_p) +
        "); labels saved: " + percent(1.0 - g.matching_fraction) + "; " + uncertainty;
    v.level = saving == seeds ? VerdictLevel::kSupported : VerdictLevel::kMixed;
    v.answer = (saving == seeds ? "Yes: " : "Not supported (the seeds disagree): ") + numbers + ".";
  } else {
    v.level = saving == 0 ? VerdictLevel::kContradicted : VerdictLevel::kMixed;
    v.answer = std::string(saving == 0 ? "No: " : "Not supported (the seeds disagree): ") +
               "no fraction below 100 % brings the median " + ref + " to within " +
               fixed(kMatchTolerance, 3) + " of " + base + " with every label; " + uncertainty +
               ".";
  }
  return v;
}

}  // namespace

std::vector<size_t> labelled_scene_indices(const std::vector<std::string>& seasons, double fraction,
                                           int64_t seed) {
  std::map<std::string, std::vector<size_t>> by_season;
  for (size_t i = 0; i < seasons.size(); ++i)
    by_season[seasons[i]].push_back(i);
  std::vector<size_t> chosen;
  for (auto& [season, indices] : by_season) {
    // mt19937_64's output is fixed by the standard (std::shuffle is not): a Fisher-Yates of our
    // own keeps the choice identical on every platform.
    uint64_t season_hash = 1469598103934665603ULL;  // FNV-1a: std::hash differs by library
    for (unsigned char c : season)
      season_hash = (season_hash ^ c) * 1099511628211ULL;
    std::mt19937_64 rng(static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL ^ season_hash);
    for (size_t i = indices.size(); i > 1; --i)
      std::swap(indices[i - 1], indices[rng() % i]);
    const auto n = static_cast<double>(indices.size());
    const size_t keep = std::clamp<size_t>(static_cast<size_t>(std::ceil(fraction * n - 1e-9)),
                                           size_t{1}, indices.size());
    chosen.insert(chosen.end(), indices.begin(), indices.begin() + static_cast<long>(keep));
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

std::string fraction_text(double fraction) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", fraction);
  return buffer;
}

const RunResult* find_fraction_run(const ExperimentSummary& summary, const std::string& arm,
                                   int64_t seed, double fraction) {
  if (same_fraction(fraction, 1.0)) return summary.find_run(arm, seed);
  return find_first(summary.fraction_runs, [&](const RunResult& r) {
    return r.arm == arm && r.seed == seed && same_fraction(r.label_fraction, fraction);
  });
}

LabelEfficiency analyse_label_efficiency(const ExperimentSummary& summary) {
  LabelEfficiency le;
  if (summary.label_fractions.empty()) return le;
  le.fractions = summary.label_fractions;
  if (std::none_of(le.fractions.begin(), le.fractions.end(),
                   [](double f) { return same_fraction(f, 1.0); }))
    le.fractions.push_back(1.0);
  std::sort(le.fractions.begin(), le.fractions.end());
  le.metric = summary.headline_metric;
  for (const auto& arm : summary.arms)
    le.arms.push_back(arm.name);
  const auto index_of = [&](const std::string& arm) {
    return static_cast<size_t>(std::find(le.arms.begin(), le.arms.end(), arm) - le.arms.begin());
  };
  const size_t ref = index_of(summary.reference_arm), base = index_of(summary.baseline_arm);
  std::vector<std::string> domains = {""};
  for (const auto& d : summary.domains)
    domains.push_back(d.name);
  for (const auto& domain : domains) {
    for (const auto& season : seasons_of(summary, domain)) {
      LabelEfficiencyGroup g;
      g.domain = domain;
      g.season = season;
      g.fractions = le.fractions;
      for (const auto& arm : le.arms) {
        std::vector<std::vector<double>> per_fraction;
        std::vector<Spread> spreads;
        for (double f : le.fractions) {
          std::vector<double> per_seed;
          for (int64_t seed : summary.seeds) {
            const RunResult* run = find_fraction_run(summary, arm, seed, f);
            per_seed.push_back(run ? metric_of(*run, domain, season, le.metric) : kNaN);
          }
          spreads.push_back(spread_of(per_seed));
          per_fraction.push_back(std::move(per_seed));
        }
        g.values.push_back(std::move(per_fraction));
        g.spreads.push_back(std::move(spreads));
      }
      if (ref >= le.arms.size() || base >= le.arms.size()) continue;
      const auto& full_base = g.values[base].back();
      for (size_t i = 0; i < le.fractions.size(); ++i) {
        g.paired.push_back(compare_paired(g.values[ref][i], g.values[base][i], kMatchTolerance));
        g.versus_full.push_back(compare_paired(g.values[ref][i], full_base, kMatchTolerance));
      }
      for (size_t i = 0; i < le.fractions.size(); ++i) {
        const PairedComparison& p = g.versus_full[i];
        if (!p.differences.empty() && p.spread.median >= -kMatchTolerance) {
          g.matching_fraction = le.fractions[i];
          break;
        }
      }
      for (size_t s = 0; s < summary.seeds.size(); ++s) {
        double match = kNaN;
        for (size_t i = 0; i < le.fractions.size(); ++i) {
          const double r = g.values[ref][i][s], b = full_base[s];
          if (std::isfinite(r) && std::isfinite(b) && r >= b - kMatchTolerance) {
            match = le.fractions[i];
            break;
          }
        }
        g.seed_matching_fractions.push_back(match);
      }
      g.seed_matching_spread = spread_of(g.seed_matching_fractions);
      g.verdict = label_verdict(summary, g, le.metric);
      le.groups.push_back(std::move(g));
    }
  }
  return le;
}

namespace {

nlohmann::json number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json paired_json(const PairedComparison& p) {
  nlohmann::json d = nlohmann::json::array();
  for (double v : p.differences)
    d.push_back(number(v));
  return {{"differences", d},
          {"median", number(p.spread.median)},
          {"min", number(p.spread.min)},
          {"max", number(p.spread.max)},
          {"positive", p.positive},
          {"negative", p.negative},
          {"ties", p.ties},
          {"wilcoxon_p", p.wilcoxon_p},
          {"sign_test_p", p.sign_test_p}};
}

}  // namespace

nlohmann::json label_efficiency_json(const LabelEfficiency& le) {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : le.groups) {
    nlohmann::json arms = nlohmann::json::object();
    for (size_t a = 0; a < le.arms.size(); ++a) {
      nlohmann::json points = nlohmann::json::array();
      for (size_t i = 0; i < g.fractions.size(); ++i) {
        nlohmann::json per_seed = nlohmann::json::array();
        for (double v : g.values[a][i])
          per_seed.push_back(number(v));
        const Spread& s = g.spreads[a][i];
        points.push_back({{"fraction", g.fractions[i]},
                          {"per_seed", per_seed},
                          {"median", number(s.count ? s.median : kNaN)},
                          {"min", number(s.count ? s.min : kNaN)},
                          {"max", number(s.count ? s.max : kNaN)}});
      }
      arms[le.arms[a]] = points;
    }
    nlohmann::json paired = nlohmann::json::array(), versus_full = nlohmann::json::array();
    for (size_t i = 0; i < g.paired.size(); ++i) {
      paired.push_back({{"fraction", g.fractions[i]}, {"test", paired_json(g.paired[i])}});
      versus_full.push_back(
          {{"fraction", g.fractions[i]}, {"test", paired_json(g.versus_full[i])}});
    }
    nlohmann::json seeds = nlohmann::json::array();
    for (double f : g.seed_matching_fractions)
      seeds.push_back(number(f));
    groups.push_back(
        {{"domain", g.domain},
         {"season", g.season},
         {"arms", arms},
         {"paired_reference_minus_baseline", paired},
         {"paired_reference_minus_baseline_at_full_labels", versus_full},
         {"matching_fraction", g.matching_fraction > 0 ? number(g.matching_fraction) : nullptr},
         {"labels_saved", g.matching_fraction > 0 ? number(1.0 - g.matching_fraction) : nullptr},
         {"seed_matching_fractions", seeds},
         {"verdict",
          {{"question", g.verdict.question},
           {"verdict", to_string(g.verdict.level)},
           {"answer", g.verdict.answer}}}});
  }
  return {{"fractions", le.fractions}, {"metric", le.metric}, {"groups", groups}};
}

std::string label_efficiency_markdown(const ExperimentSummary& summary, const LabelEfficiency& le) {
  if (le.empty()) return "";
  std::ostringstream md;
  md << "\n## Label efficiency\n\nEach arm trained on nested, seeded shares of the labelled "
        "training scenes (per season; the scenes of a smaller share are among those of a larger "
        "one), everything else unchanged. Test "
     << le.metric << " with the last-epoch weights, median (min–max) over seeds.\n\n";
  for (const auto& g : le.groups) {
    md << "### " << group_words(g) << "\n\n**" << g.verdict.question << "** — *"
       << to_string(g.verdict.level) << "*. " << g.verdict.answer << "\n\n| fraction |";
    for (const auto& arm : le.arms)
      md << " " << arm << " |";
    md << " paired " << summary.reference_arm << " − " << summary.baseline_arm
       << " (Wilcoxon p, sign p) | " << summary.reference_arm << " − " << summary.baseline_arm
       << " at 100 % (Wilcoxon p) |\n|---|";
    for (size_t a = 0; a < le.arms.size(); ++a)
      md << "---|";
    md << "---|---|\n";
    for (size_t i = 0; i < g.fractions.size(); ++i) {
      md << "| " << percent(g.fractions[i]) << " |";
      for (size_t a = 0; a < le.arms.size(); ++a) {
        const Spread& s = g.spreads[a][i];
        md << " "
           << (s.count ? fixed(s.median, 4) + " (" + fixed(s.min, 4) + "–" + fixed(s.max, 4) + ")"
                       : "n/a")
           << " |";
      }
      if (i < g.paired.size()) {
        const auto& p = g.paired[i];
        const auto& v = g.versus_full[i];
        md << " " << signed_fixed(p.spread.median, 4) << " (" << p_text(p.wilcoxon_p) << ", "
           << p_text(p.sign_test_p) << ") | " << signed_fixed(v.spread.median, 4) << " ("
           << p_text(v.wilcoxon_p) << ") |";
      } else {
        md << " n/a | n/a |";
      }
      md << "\n";
    }
    md << "\n";
  }
  if (!summary.fraction_runs.empty()) {
    md << "Runs on a share of the labels (" << summary.fraction_runs.size() << ", "
       << censored_text(summary.fraction_runs) << "):\n\n| arm | fraction | seed | epochs | "
       << "convergence |\n|---|---|---|---|---|\n";
    for (const auto& run : summary.fraction_runs)
      md << "| " << run.arm << " | " << percent(run.label_fraction) << " | " << run.seed << " | "
         << run.curve.size() << " | " << run.convergence << " |\n";
  }
  return md.str();
}

std::string label_efficiency_html(const ExperimentSummary& summary, const LabelEfficiency& le) {
  if (le.empty()) return "";
  std::ostringstream html;
  html << "<h2 id='label-efficiency'>Label efficiency</h2><p><small>Each arm trained on nested, "
          "seeded shares of the labelled training scenes (per season), everything else "
          "unchanged. Line: median over seeds of the test "
       << svg::escape_markup(le.metric)
       << " (last-epoch weights); band: minimum to maximum; grey: the "
       << svg::escape_markup(summary.baseline_arm) << " arm with every label.</small></p>";
  for (const auto& g : le.groups) {
    svg::LineChart chart;
    chart.title = le.metric + " vs labelled fraction · " + group_words(g);
    chart.x_label = "labelled fraction of the training scenes";
    chart.x_min = 0;
    for (size_t a = 0; a < le.arms.size(); ++a) {
      svg::SpreadSeries series{le.arms[a], svg::series_colour(a), {}};
      for (size_t i = 0; i < g.fractions.size(); ++i) {
        const Spread& s = g.spreads[a][i];
        if (s.count > 0) series.points.push_back({g.fractions[i], s.median, s.min, s.max});
      }
      chart.series.push_back(std::move(series));
    }
    const auto base = std::find(le.arms.begin(), le.arms.end(), summary.baseline_arm);
    if (base != le.arms.end()) {
      const Spread& full = g.spreads[size_t(base - le.arms.begin())].back();
      if (full.count > 0)
        chart.series.push_back({summary.baseline_arm + " at 100 %",
                                "#999999",
                                {{g.fractions.front(), full.median, full.median, full.median},
                                 {1.0, full.median, full.median, full.median}}});
    }
    const std::string css = g.verdict.level == VerdictLevel::kSupported      ? "v-yes"
                            : g.verdict.level == VerdictLevel::kContradicted ? "v-no"
                                                                             : "v-open";
    html << "<div class='verdict " << css << "'><div><b>" << svg::escape_markup(g.verdict.question)
         << "</b> <span class='level'>" << svg::escape_markup(to_string(g.verdict.level))
         << "</span></div><div>" << svg::escape_markup(g.verdict.answer) << "</div>"
         << svg::line_chart_svg(chart) << "<table class='fig'><tr><th>fraction</th>";
    for (size_t a = 0; a < le.arms.size(); ++a)
      html << "<th>" << svg::escape_markup(le.arms[a])
           << "<br><small>median (min–max)</small></th>";
    html << "<th>paired " << svg::escape_markup(summary.reference_arm) << " − "
         << svg::escape_markup(summary.baseline_arm)
         << "<br><small>median · Wilcoxon p · sign p</small></th><th>"
         << svg::escape_markup(summary.reference_arm) << " − "
         << svg::escape_markup(summary.baseline_arm)
         << " at 100 %<br><small>median · Wilcoxon p</small></th></tr>";
    for (size_t i = 0; i < g.fractions.size(); ++i) {
      html << "<tr><td>" << percent(g.fractions[i]) << "</td>";
      for (size_t a = 0; a < le.arms.size(); ++a) {
        const Spread& s = g.spreads[a][i];
        html << "<td>"
             << (s.count ? fixed(s.median, 4) + " (" + fixed(s.min, 4) + "–" + fixed(s.max, 4) + ")"
                         : "n/a")
             << "</td>";
      }
      if (i < g.paired.size())
        html << "<td>" << signed_fixed(g.paired[i].spread.median, 4) << " · "
             << p_text(g.paired[i].wilcoxon_p) << " · " << p_text(g.paired[i].sign_test_p)
             << "</td><td>" << signed_fixed(g.versus_full[i].spread.median, 4) << " · "
             << p_text(g.versus_full[i].wilcoxon_p) << "</td>";
      html << "</tr>";
    }
    html << "</table></div>";
  }
  return html.str();
}

}  // namespace sarseg::experiment
