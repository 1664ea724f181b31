#include "sarseg/experiment/report.h"
#include "sarseg/experiment/speckle_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>

#include "sarseg/experiment/convergence.h"
#include "sarseg/experiment/domains.h"
#include "sarseg/experiment/label_efficiency.h"
#include "sarseg/experiment/svg_chart.h"
#include "sarseg/util/atomic_file.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- text helpers ------------------------------------------------------------------------------

using svg::escape_markup;
using svg::format_fixed;

std::string signed_fixed(double v, int decimals) {
  return svg::format_signed(v, decimals);
}

std::string short_number(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3g", v);
  return buffer;
}

// The stop reason, flagged when the run is censored (convergence.h).
std::string stop_text(const RunResult& run) {
  return run.censored ? run.stop_reason + " (censored)" : run.stop_reason;
}

int decimals_for(const std::string& unit) {
  if (unit == "epochs" || unit == "s") return 1;
  if (unit == "samples") return 0;
  return 4;
}

std::string spread_text(const Spread& s, const std::string& unit) {
  if (s.count == 0) return "n/a";
  const int d = decimals_for(unit);
  return format_fixed(s.median, d) + " (" + format_fixed(s.min, d) + "–" + format_fixed(s.max, d) +
         ")";
}

std::string paired_text(const FigureAnalysis& f) {
  if (!f.has_paired || f.paired.differences.empty()) return "n/a";
  const int d = decimals_for(f.unit);
  return signed_fixed(f.paired.spread.median, d) + " (" + signed_fixed(f.paired.spread.min, d) +
         " to " + signed_fixed(f.paired.spread.max, d) + ")";
}

const std::string& arm_colour(const ExperimentSummary& summary, const std::string& arm) {
  static const std::string kUnknownArm = "#666666";
  for (size_t i = 0; i < summary.arms.size(); ++i)
    if (summary.arms[i].name == arm) return svg::series_colour(i);
  return kUnknownArm;
}

// ---- charts (the data they show; the drawing is in svg_chart.cpp) ------------------------------

// Learning curve of one quantity: per arm the median over seeds as a line and the min-max over
// seeds as a band, at every epoch some seed reached.
std::string learning_curve_svg(const ExperimentSummary& summary, const std::string& title,
                               double EpochRecord::*member, bool log_scale) {
  svg::LineChart chart;
  chart.title = title;
  chart.x_label = "epoch";
  chart.integer_x = true;
  chart.log10_values = log_scale;
  chart.x_min = 1;
  const auto transform = [&](double v) { return log_scale ? std::log10(std::max(v, 1e-6)) : v; };
  for (const auto& arm : summary.arms) {
    std::map<int64_t, std::vector<double>> values;
    for (const auto& run : summary.runs) {
      if (run.arm != arm.name) continue;
      for (const auto& e : run.curve)
        if (std::isfinite(e.*member)) values[e.epoch].push_back(transform(e.*member));
    }
    svg::SpreadSeries series{arm.name, arm_colour(summary, arm.name), {}};
    for (const auto& [epoch, v] : values) {
      const Spread s = spread_of(v);
      series.points.push_back({double(epoch), s.median, s.min, s.max});
    }
    chart.series.push_back(std::move(series));
  }
  return svg::line_chart_svg(chart);
}

// Grouped bars: one group per season, one bar per arm at the median over seeds, whiskers from
// the minimum to the maximum.
std::string season_bars_svg(const ExperimentSummary& summary, const Analysis& analysis,
                            const std::string& weights, const std::string& metric,
                            const std::string& title) {
  svg::BarChart chart;
  chart.title = title;
  chart.y_max = 1.0;  // the metrics are fractions
  for (const auto& arm : summary.arms)
    chart.series.push_back({arm.name, arm_colour(summary, arm.name)});
  for (const auto& season : analysis.seasons) {
    svg::BarGroup group{season, {}};
    if (const FigureAnalysis* fig =
            analysis.find("test." + weights + "." + season + "." + metric)) {
      for (const auto& arm : summary.arms) {
        const ArmFigure* a = fig->find(arm.name);
        svg::Bar bar;
        if (a && a->spread.count > 0) bar = {true, a->spread.median, a->spread.min, a->spread.max};
        group.bars.push_back(bar);
      }
    }
    chart.groups.push_back(std::move(group));
  }
  return svg::bar_chart_svg(chart);
}

// Paired differences per seed as a dot strip around zero, for one figure.
std::string paired_strip_svg(const FigureAnalysis& figure, const std::string& reference,
                             const std::string& baseline) {
  return svg::dot_strip_svg({reference + " − " + baseline + " per seed", figure.paired.differences,
                             figure.paired.spread.median});
}

// ---- tables ------------------------------------------------------------------------------------

std::string cell_background(double fraction) {
  const double a = std::clamp(fraction, 0.0, 1.0);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "rgba(31,119,180,%.3f)", 0.08 + 0.82 * a);
  return buffer;
}

// Confusion matrix pooled over seeds, row-normalised (recall per true class).
std::string confusion_table_html(const ExperimentSummary& summary, const std::string& arm,
                                 const std::string& weights, const std::string& season) {
  std::vector<std::vector<int64_t>> total;
  int64_t runs = 0;
  for (const auto& run : summary.runs) {
    if (run.arm != arm) continue;
    const Evaluation* e = run.find(weights);
    const SeasonMetrics* m = e ? e->find(season) : nullptr;
    if (!m || m->confusion.empty()) continue;
    if (total.empty())
      total.assign(m->confusion.size(), std::vector<int64_t>(m->confusion.size(), 0));
    if (m->confusion.size() != total.size()) continue;
    for (size_t i = 0; i < total.size(); ++i)
      for (size_t j = 0; j < total.size() && j < m->confusion[i].size(); ++j)
        total[i][j] += m->confusion[i][j];
    ++runs;
  }
  std::ostringstream html;
  html << "<table class='cm'><caption>" << escape_markup(arm) << " · " << escape_markup(season)
       << " · " << runs << " run(s)</caption>";
  if (total.empty()) {
    html << "<tr><td>no data</td></tr></table>";
    return html.str();
  }
  const auto name = [&](size_t i) {
    return i < summary.class_names.size() ? summary.class_names[i] : std::to_string(i);
  };
  html << "<tr><th>truth \\ predicted</th>";
  for (size_t j = 0; j < total.size(); ++j)
    html << "<th>" << escape_markup(name(j)) << "</th>";
  html << "</tr>";
  for (size_t i = 0; i < total.size(); ++i) {
    int64_t row = 0;
    for (int64_t v : total[i])
      row += v;
    html << "<tr><th>" << escape_markup(name(i)) << "</th>";
    for (size_t j = 0; j < total.size(); ++j) {
      const double fraction = row > 0 ? double(total[i][j]) / double(row) : kNaN;
      html << "<td style='background:" << (row > 0 ? cell_background(fraction) : "#eee")
           << (fraction > 0.55 ? ";color:#fff" : "") << "' title='" << total[i][j] << " pixels'>"
           << (row > 0 ? format_fixed(fraction, 2) : "–") << "</td>";
    }
    html << "</tr>";
  }
  html << "</table>";
  return html.str();
}

std::string verdict_class(VerdictLevel level) {
  switch (level) {
    case VerdictLevel::kSupported:
      return "v-yes";
    case VerdictLevel::kContradicted:
      return "v-no";
    default:
      return "v-open";
  }
}

std::string data_uri_for(const fs::path& file, std::string* error) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    *error = "missing file " + file.string();
    return "";
  }
  return "data:image/png;base64," + base64_encode(read_file(file));
}

// Headline figures, a table row each: the figure, per arm its median (min–max) over seeds, the
// paired difference and its p values. The season-gap figures have their own verdicts instead.
struct FigureRow {
  std::string label;
  std::string unit_suffix;  // " [unit]" or ""
  std::vector<std::string> arm_spreads;
  std::string paired, wilcoxon_p, sign_p;
};

std::vector<FigureRow> figure_rows(const ExperimentSummary& summary, const Analysis& analysis,
                                   const std::string& prefix) {
  std::vector<FigureRow> rows;
  for (const auto& f : analysis.figures) {
    if (f.key.rfind(prefix, 0) != 0 || f.key.find("melt_vs") != std::string::npos) continue;
    FigureRow row;
    row.label = f.label;
    row.unit_suffix = f.unit.empty() ? "" : " [" + f.unit + "]";
    for (const auto& arm : summary.arms) {
      const ArmFigure* a = f.find(arm.name);
      row.arm_spreads.push_back(a ? spread_text(a->spread, f.unit) : "n/a");
    }
    row.paired = paired_text(f);
    row.wilcoxon_p = f.has_paired ? short_number(f.paired.wilcoxon_p) : "n/a";
    row.sign_p = f.has_paired ? short_number(f.paired.sign_test_p) : "n/a";
    rows.push_back(std::move(row));
  }
  return rows;
}

void figure_rows_markdown(std::ostringstream& md, const ExperimentSummary& summary,
                          const Analysis& analysis, const std::string& prefix) {
  md << "| figure |";
  for (const auto& arm : summary.arms)
    md << " " << arm.name << " median (min–max) |";
  md << " paired " << summary.reference_arm << " − " << summary.baseline_arm
     << " median (range) | Wilcoxon p | sign p |\n|---|";
  for (size_t i = 0; i < summary.arms.size(); ++i)
    md << "---|";
  md << "---|---|---|\n";
  for (const auto& row : figure_rows(summary, analysis, prefix)) {
    md << "| " << row.label << row.unit_suffix << " |";
    for (const auto& spread : row.arm_spreads)
      md << " " << spread << " |";
    md << " " << row.paired << " | " << row.wilcoxon_p << " | " << row.sign_p << " |\n";
  }
}

void figure_rows_html(std::ostringstream& html, const ExperimentSummary& summary,
                      const Analysis& analysis, const std::string& prefix) {
  html << "<table class='fig'><tr><th>figure</th>";
  for (const auto& arm : summary.arms)
    html << "<th><span class='sw' style='background:" << arm_colour(summary, arm.name)
         << "'></span>" << escape_markup(arm.name) << "<br><small>median (min–max)</small></th>";
  html << "<th>paired " << escape_markup(summary.reference_arm) << " − "
       << escape_markup(summary.baseline_arm)
       << "<br><small>median (range)</small></th><th>Wilcoxon p</th><th>sign p</th></tr>";
  for (const auto& row : figure_rows(summary, analysis, prefix)) {
    html << "<tr><td>" << escape_markup(row.label) << row.unit_suffix << "</td>";
    for (const auto& spread : row.arm_spreads)
      html << "<td>" << spread << "</td>";
    html << "<td>" << row.paired << "</td><td>" << row.wilcoxon_p << "</td><td>" << row.sign_p
         << "</td></tr>";
  }
  html << "</table>";
}

std::string per_run_season_text(const RunResult& run, const std::string& weights,
                                const std::string& season) {
  const Evaluation* e = run.find(weights);
  const SeasonMetrics* m = e ? e->find(season) : nullptr;
  return m ? format_fixed(m->weighted_f1, 4) : "n/a";
}

// Calibration of an arm: the first head's counts of `weights` on the pooled test scenes, summed
// over seeds (none when no run recorded them).
eval::CalibrationAccumulator pooled_calibration(const ExperimentSummary& summary,
                                                const std::string& arm,
                                                const std::string& weights) {
  eval::CalibrationAccumulator pooled;
  for (const auto& run : summary.runs) {
    if (run.arm != arm) continue;
    const Evaluation* e = run.find(weights);
    const SeasonMetrics* m = e ? e->find("all") : nullptr;
    if (m && m->calibration.pixels() > 0) pooled.merge(m->calibration);
  }
  return pooled;
}

bool any_calibration(const ExperimentSummary& summary) {
  for (const auto& arm : summary.arms)
    if (pooled_calibration(summary, arm.name, "last").pixels() > 0) return true;
  return false;
}

// Reliability diagram: per arm the accuracy of each confidence bin against its mean confidence
// (pooled over seeds), and the diagonal of perfect calibration.
std::string reliability_svg(const ExperimentSummary& summary, const std::string& weights) {
  svg::LineChart chart;
  chart.title = std::string("reliability · ") +
                (weights == "last" ? "last-epoch weights" : "best checkpoint");
  chart.x_label = "confidence (bin mean); y: accuracy";
  chart.x_min = 0;
  chart.series.push_back({"perfect calibration", "#999999", {{0, 0, 0, 0}, {1, 1, 1, 1}}});
  for (const auto& arm : summary.arms) {
    const auto pooled = pooled_calibration(summary, arm.name, weights);
    svg::SpreadSeries series{arm.name, arm_colour(summary, arm.name), {}};
    for (const auto& bin : pooled.reliability())
      if (bin.pixels > 0)
        series.points.push_back({bin.mean_confidence, bin.accuracy, bin.accuracy, bin.accuracy});
    if (!series.points.empty()) chart.series.push_back(std::move(series));
  }
  return svg::line_chart_svg(chart);
}

std::string calibration_cell(double v) {
  return std::isfinite(v) ? format_fixed(v, 4) : "n/a";
}

// ---- report.html sections, in page order --------------------------------------------------------

// Head: title, the self-check script and the stylesheet.
void html_head(std::ostringstream& html, const std::string& title) {
  html << "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
       << "<meta name='viewport' content='width=device-width,initial-scale=1'>"
       << "<title>pending: " << escape_markup(title)
       << "</title>"
       // The page checks itself: any script error or undecodable image sets the title to
       // "error: ..."; otherwise, once loaded, "ok: ...".
       << "<script>var sarsegErrors=[];"
          "window.onerror=function(m){sarsegErrors.push(String(m));document.title='error: '+m;};"
          "(function(){var original=console.error;console.error=function(){"
          "sarsegErrors.push('console.error: '+Array.prototype.join.call(arguments,' '));"
          "document.title='error: console.error';return original.apply(console,arguments);};})();"
          "window.addEventListener('load',function(){"
          "var imgs=document.images;for(var i=0;i<imgs.length;i++){"
          "if(!imgs[i].complete||imgs[i].naturalWidth===0)sarsegErrors.push('image '+imgs[i].alt);}"
          "var missing=document.querySelectorAll('.missing');"
          "for(var k=0;k<missing.length;k++)sarsegErrors.push(missing[k].textContent);"
          "if(document.querySelectorAll('svg').length===0)sarsegErrors.push('no charts');"
          "document.title=(sarsegErrors.length?'error: '+sarsegErrors.join('; '):'ok: "
       << escape_markup(title) << "');});</script>"
       << "<style>"
          "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222}"
          "h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;"
          "margin-top:28px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid "
          "#ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:"
          "left}.charts{display:flex;flex-wrap:wrap;gap:10px}"
       << svg::chart_css()
       << ".sw{display:inline-block;width:11px;"
          "height:11px;margin-right:4px;vertical-align:middle}.verdict{border-left:5px solid #999;"
          "padding:6px 10px;margin:10px 0;background:#fafafa}.v-yes{border-color:#2a9d2a}.v-no{"
          "border-color:#c0392b}.v-open{border-color:#d4a017}.level{font-weight:700;text-"
          "transform:uppercase;font-size:12px}.cm td{min-width:44px}.cm caption{font-size:12px;"
          "font-weight:600;text-align:left}.cms{display:flex;flex-wrap:wrap;gap:14px}.ql{display:"
          "flex;flex-wrap:wrap;gap:8px;align-items:flex-start}.ql figure{margin:0}.ql img{width:"
          "210px;image-rendering:pixelated;border:1px solid #ccc}.ql figcaption{font-size:12px}"
          ".missing{color:#c00}.rule{font-size:12px;color:#555}small{color:#666}"
          "</style></head><body>";
}

// Title, what was run where, and the arm colour key.
void html_overview(std::ostringstream& html, const ExperimentSummary& summary,
                   const std::string& title) {
  html << "<h1>" << escape_markup(title) << ": " << escape_markup(summary.reference_arm) << " vs "
       << escape_markup(summary.baseline_arm) << "</h1>";
  html << "<p>Profile <b>" << escape_markup(summary.profile) << "</b> · model "
       << escape_markup(summary.model) << " · data " << escape_markup(summary.data) << " · "
       << summary.seeds.size() << " seeds × " << summary.arms.size() << " arms, "
       << summary.runs.size() << " runs finished · wall time "
       << format_fixed(summary.total_seconds, 1) << " s · " << escape_markup(summary.machine)
       << " · " << escape_markup(summary.created_utc) << " · sarseg "
       << escape_markup(summary.sarseg_version) << "</p><p>";
  for (const auto& arm : summary.arms)
    html << "<span class='sw' style='background:" << arm_colour(summary, arm.name) << "'></span><b>"
         << escape_markup(arm.name) << "</b>: " << escape_markup(arm.description) << " &nbsp; ";
  html << "</p>";
}

// Each verdict with its supporting figures and the paired differences per seed.
void html_verdicts(std::ostringstream& html, const ExperimentSummary& summary,
                   const Analysis& analysis) {
  html << "<h2>Verdicts</h2>";
  for (const auto& v : analysis.verdicts) {
    html << "<div class='verdict " << verdict_class(v.level) << "'><div><b>"
         << escape_markup(v.question) << "</b> <span class='level'>"
         << escape_markup(to_string(v.level)) << "</span></div><div>" << escape_markup(v.answer)
         << "</div>";
    if (!v.supporting.empty()) {
      html << "<ul>";
      for (const auto& s : v.supporting)
        html << "<li><small>" << escape_markup(s) << "</small></li>";
      html << "</ul>";
    }
    const FigureAnalysis* f = analysis.find(v.figure_key);
    if (f && f->has_paired && !f->paired.differences.empty())
      html << paired_strip_svg(
          *f,
          v.figure_key.find("melt_vs") != std::string::npos ? "melt adv." : summary.reference_arm,
          v.figure_key.find("melt_vs") != std::string::npos ? "freeze-up adv."
                                                            : summary.baseline_arm);
    html << "</div>";
  }
  html << "<p class='rule'>Rule: " << escape_markup(analysis.rule) << "</p>";
}

void html_learning_curves(std::ostringstream& html, const ExperimentSummary& summary,
                          const Analysis& analysis) {
  html << "<h2>Learning curves</h2><p><small>Line: median over seeds at each epoch; band: "
          "minimum to maximum over the seeds that reached that epoch.</small></p>"
       << "<div class='charts'>"
       << learning_curve_svg(summary, "training loss", &EpochRecord::train_loss, false)
       << learning_curve_svg(summary, "validation loss", &EpochRecord::val_loss, false)
       << learning_curve_svg(summary, "validation weighted F1", &EpochRecord::val_weighted_f1,
                             false)
       << "</div>";
  html << "<h3>Convergence figures</h3><p id='censoring'>"
       << escape_markup(censored_text(summary.runs))
       << ". <small>A run that stopped at the epoch cap without early stopping, and without a "
          "schedule that ends training there, has not converged: its epochs-to-best are lower "
          "bounds, and the convergence verdict treats them as censored.</small></p>";
  figure_rows_html(html, summary, analysis, "convergence.");
}

void html_test_metrics(std::ostringstream& html, const ExperimentSummary& summary,
                       const Analysis& analysis) {
  html << "<h2>Test metrics per season</h2><p><small>Bars: median over seeds; whiskers: minimum "
          "and maximum. The y axis starts at the value shown, not necessarily at 0.</small></p>"
       << "<div class='charts'>";
  for (const std::string weights : {"last", "best"})
    for (const auto& [metric, words] : std::vector<std::pair<std::string, std::string>>{
             {"weighted_f1", "weighted F1"}, {"weighted_iou", "weighted IoU"}})
      html << season_bars_svg(
          summary, analysis, weights, metric,
          words + " · " + (weights == "last" ? "last-epoch weights" : "best checkpoint"));
  html << "</div>";
  figure_rows_html(html, summary, analysis, "test.");
}

void html_calibration(std::ostringstream& html, const ExperimentSummary& summary,
                      const Analysis& analysis) {
  if (!any_calibration(summary)) return;
  html << "<h2 id='calibration'>Calibration and uncertainty</h2><p><small>Expected calibration "
          "error (ECE, 15 confidence bins, lower is better) of the first head's probabilities "
          "and the AUROC of the predictive entropy for misclassified pixels (higher: the "
          "entropy flags errors better; 0.5 = not at all), per seed; the diagram pools the "
          "seeds' pixels of all test scenes.</small></p><div class='charts'>";
  for (const std::string weights : {"last", "best"})
    html << reliability_svg(summary, weights);
  html << "</div><table class='fig' id='calibration-pooled'><tr><th>arm</th><th>pixels</th>"
          "<th>accuracy</th><th>ECE (pooled)</th><th>error AUROC (pooled)</th></tr>";
  for (const auto& arm : summary.arms) {
    const auto pooled = pooled_calibration(summary, arm.name, "last");
    html << "<tr><td><span class='sw' style='background:" << arm_colour(summary, arm.name)
         << "'></span>" << escape_markup(arm.name) << "</td><td>" << pooled.pixels() << "</td><td>"
         << calibration_cell(pooled.accuracy()) << "</td><td>"
         << calibration_cell(pooled.expected_calibration_error()) << "</td><td>"
         << calibration_cell(pooled.error_auroc()) << "</td></tr>";
  }
  html << "</table>";
  figure_rows_html(html, summary, analysis, "calibration.");
}

void html_confusion_matrices(std::ostringstream& html, const ExperimentSummary& summary,
                             const Analysis& analysis) {
  html << "<h2>Confusion matrices</h2><p><small>Last-epoch weights, pixel counts pooled over "
          "seeds, each row normalised by the true class (diagonal = recall).</small></p>";
  for (const auto& season : analysis.seasons) {
    html << "<div class='cms'>";
    for (const auto& arm : summary.arms)
      html << confusion_table_html(summary, arm.name, "last", season);
    html << "</div>";
  }
}

// One quicklook as an embedded image, or a visible error when its file is missing.
void quicklook_figure_html(std::ostringstream& html, const fs::path& file, const std::string& alt,
                           const std::string& label) {
  std::string error;
  const std::string uri = data_uri_for(file, &error);
  if (uri.empty()) {
    html << "<p class='missing'>" << escape_markup(label) << ": " << escape_markup(error) << "</p>";
    return;
  }
  html << "<figure><img alt='" << escape_markup(alt) << "' src='" << uri << "'><figcaption>"
       << escape_markup(label) << "</figcaption></figure>";
}

// The class colour key and, per test scene, its input, truth and each arm's prediction.
void html_test_scenes(std::ostringstream& html, const ExperimentSummary& summary,
                      const fs::path& experiment_dir) {
  if (summary.quicklooks.empty()) return;
  html << "<h2>Test scenes</h2>";
  if (!summary.class_colours.empty()) {
    html << "<p>";
    for (size_t i = 0; i < summary.class_colours.size(); ++i)
      html << "<span class='sw' style='background:" << escape_markup(summary.class_colours[i])
           << "'></span>"
           << escape_markup(i < summary.class_names.size() ? summary.class_names[i]
                                                           : std::to_string(i))
           << " &nbsp; ";
    html << "</p>";
  }
  for (const auto& q : summary.quicklooks) {
    html << "<h3>" << escape_markup(q.scene_id) << " (" << escape_markup(q.season)
         << ")</h3><p><small>" << escape_markup(q.caption) << "</small></p><div class='ql'>";
    const auto figure = [&](const std::string& file, const std::string& label) {
      quicklook_figure_html(html, experiment_dir / file, q.scene_id + " " + label, label);
    };
    if (!q.input_png.empty()) figure(q.input_png, "input (HH)");
    figure(q.truth_png, "truth");
    for (const auto& arm : summary.arms) {
      const auto it = q.predictions.find(arm.name);
      if (it != q.predictions.end()) figure(it->second, arm.name);
    }
    html << "</div>";
  }
}

void html_runs_table(std::ostringstream& html, const ExperimentSummary& summary,
                     const Analysis& analysis) {
  html << "<h2>Runs</h2><table><tr><th>arm</th><th>seed</th><th>epochs</th><th>best epoch</th>"
          "<th>stop</th><th>wall s</th>";
  for (const auto& season : analysis.seasons)
    html << "<th>" << escape_markup(season) << " wF1<br><small>last / best</small></th>";
  html << "</tr>";
  for (const auto& run : summary.runs) {
    html << "<tr><td>" << escape_markup(run.arm) << "</td><td>" << run.seed << "</td><td>"
         << run.curve.size() << "</td><td>" << run.best_epoch << "</td><td>"
         << escape_markup(stop_text(run)) << "</td><td>" << format_fixed(run.total_seconds, 1)
         << "</td>";
    for (const auto& season : analysis.seasons)
      html << "<td>" << per_run_season_text(run, "last", season) << " / "
           << per_run_season_text(run, "best", season) << "</td>";
    html << "</tr>";
  }
  html << "</table>";
}

}  // namespace

// ---- public ------------------------------------------------------------------------------------

std::string base64_encode(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) |
                       (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint32_t(uint8_t(bytes[i + 2]));
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

nlohmann::json summary_document(const ExperimentSummary& summary, const Analysis& analysis) {
  nlohmann::json doc = summary;
  nlohmann::json figures = nlohmann::json::array();
  const auto number = [](double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  };
  for (const auto& f : analysis.figures) {
    nlohmann::json arms = nlohmann::json::object();
    for (const auto& a : f.arms) {
      nlohmann::json per_seed = nlohmann::json::array();
      for (double v : a.per_seed)
        per_seed.push_back(number(v));
      arms[a.arm] = {{"per_seed", per_seed},
                     {"count", a.spread.count},
                     {"median", number(a.spread.median)},
                     {"min", number(a.spread.min)},
                     {"max", number(a.spread.max)}};
    }
    nlohmann::json entry = {
        {"key", f.key},
        {"label", f.label},
        {"unit", f.unit},
        {"better", f.direction == Direction::kHigherIsBetter ? "higher" : "lower"},
        {"tie_tolerance", f.tolerance},
        {"arms", arms}};
    if (f.has_paired) {
      nlohmann::json differences = nlohmann::json::array();
      for (double d : f.paired.differences)
        differences.push_back(number(d));
      entry["paired"] = {{"differences", differences},
                         {"median", number(f.paired.spread.median)},
                         {"min", number(f.paired.spread.min)},
                         {"max", number(f.paired.spread.max)},
                         {"positive", f.paired.positive},
                         {"negative", f.paired.negative},
                         {"ties", f.paired.ties},
                         {"sign_test_p", f.paired.sign_test_p},
                         {"wilcoxon_p", f.paired.wilcoxon_p},
                         {"wilcoxon_w_plus", f.paired.wilcoxon_w_plus},
                         {"smallest_attainable_p", f.paired.smallest_attainable_p}};
    }
    figures.push_back(entry);
  }
  nlohmann::json verdicts = nlohmann::json::array();
  for (const auto& v : analysis.verdicts)
    verdicts.push_back({{"question", v.question},
                        {"figure", v.figure_key},
                        {"verdict", to_string(v.level)},
                        {"answer", v.answer},
                        {"supporting", v.supporting}});
  doc["analysis"] = {{"seasons", analysis.seasons},
                     {"rule", analysis.rule},
                     {"figures", figures},
                     {"verdicts", verdicts}};
  nlohmann::json censored = nlohmann::json::array();
  for (const auto* runs : {&summary.runs, &summary.fraction_runs})
    for (const auto& run : *runs)
      if (run.censored)
        censored.push_back(
            run.arm + ":" + std::to_string(run.seed) +
            (run.label_fraction != 1.0 ? ":labels" + fraction_text(run.label_fraction) : ""));
  doc["analysis"]["censored_runs"] = censored;
  const LabelEfficiency label_efficiency = analyse_label_efficiency(summary);
  if (!label_efficiency.empty())
    doc["analysis"]["label_efficiency"] = label_efficiency_json(label_efficiency);
  if (!summary.domains.empty())
    doc["analysis"]["domains"] = domains_json(analyse_domains(summary, analysis));
  return doc;
}

std::string figure_table_markdown(const ExperimentSummary& summary, const Analysis& analysis,
                                  const std::string& prefix) {
  std::ostringstream md;
  figure_rows_markdown(md, summary, analysis, prefix);
  return md.str();
}

std::string season_bar_chart_svg(const ExperimentSummary& summary, const Analysis& analysis,
                                 const std::string& title) {
  svg::BarChart chart;
  chart.title = title;
  for (size_t a = 0; a < summary.arms.size(); ++a)
    chart.series.push_back({summary.arms[a].name, svg::series_colour(a)});
  for (const auto& season : analysis.seasons) {
    svg::BarGroup group{season, {}};
    const FigureAnalysis* figure =
        analysis.find("test.last." + season + "." + summary.headline_metric);
    for (const auto& arm : summary.arms) {
      svg::Bar bar;
      const ArmFigure* a = figure ? figure->find(arm.name) : nullptr;
      if (a && a->spread.count > 0) bar = {true, a->spread.median, a->spread.min, a->spread.max};
      group.bars.push_back(bar);
    }
    chart.groups.push_back(std::move(group));
  }
  return svg::bar_chart_svg(chart);
}

std::string figure_table_html(const ExperimentSummary& summary, const Analysis& analysis,
                              const std::string& prefix) {
  std::ostringstream html;
  figure_rows_html(html, summary, analysis, prefix);
  return html.str();
}

std::string render_markdown(const ExperimentSummary& summary, const Analysis& analysis) {
  std::ostringstream md;
  md << "# Experiment " << summary.name << ": " << summary.reference_arm << " vs "
     << summary.baseline_arm << "\n\n";
  md << "- profile: " << summary.profile << "\n- model: " << summary.model
     << "\n- data: " << summary.data << "\n- arms: ";
  for (size_t i = 0; i < summary.arms.size(); ++i)
    md << (i ? ", " : "") << summary.arms[i].name << " (" << summary.arms[i].description << ")";
  md << "\n- seeds: ";
  for (size_t i = 0; i < summary.seeds.size(); ++i)
    md << (i ? ", " : "") << summary.seeds[i];
  md << "\n- runs finished: " << summary.runs.size()
     << "\n- total wall time: " << format_fixed(summary.total_seconds, 1)
     << " s\n- machine: " << summary.machine << "\n- created: " << summary.created_utc
     << " (sarseg " << summary.sarseg_version << ")\n\n";

  md << "## Verdicts\n\n";
  for (const auto& v : analysis.verdicts) {
    md << "**" << v.question << "** — *" << to_string(v.level) << "*. " << v.answer << "\n\n";
    for (const auto& s : v.supporting)
      md << "- " << s << "\n";
    if (!v.supporting.empty()) md << "\n";
  }
  md << "Rule: " << analysis.rule << "\n\n";
  md << pretraining_markdown(summary);

  md << "## Convergence\n\n"
     << censored_text(summary.runs)
     << ". A run that stopped at the epoch cap without early stopping, and without a schedule "
        "that ends training there, has not converged: its epochs-to-best are lower bounds, and "
        "the convergence verdict treats them as censored.\n\n";
  figure_rows_markdown(md, summary, analysis, "convergence.");
  md << "\n## Test metrics per season\n\n";
  figure_rows_markdown(md, summary, analysis, "test.");

  if (any_calibration(summary)) {
    md << "\n## Calibration and uncertainty\n\nECE: expected calibration error of the first "
          "head's probabilities (15 bins, lower is better); error AUROC: how well the "
          "predictive entropy flags misclassified pixels (0.5 = not at all).\n\n";
    figure_rows_markdown(md, summary, analysis, "calibration.");
    md << "\nPooled over seeds, all test scenes, last-epoch weights:\n\n| arm | pixels | "
          "accuracy | ECE | error AUROC |\n|---|---:|---:|---:|---:|\n";
    for (const auto& arm : summary.arms) {
      const auto pooled = pooled_calibration(summary, arm.name, "last");
      md << "| " << arm.name << " | " << pooled.pixels() << " | "
         << calibration_cell(pooled.accuracy()) << " | "
         << calibration_cell(pooled.expected_calibration_error()) << " | "
         << calibration_cell(pooled.error_auroc()) << " |\n";
    }
    md << "\nReliability (confidence bin: accuracy, pooled as above):\n\n| bin |";
    for (const auto& arm : summary.arms)
      md << " " << arm.name << " |";
    md << "\n|---|";
    for (size_t i = 0; i < summary.arms.size(); ++i)
      md << "---:|";
    md << "\n";
    std::vector<std::vector<eval::ReliabilityBin>> bins;
    for (const auto& arm : summary.arms)
      bins.push_back(pooled_calibration(summary, arm.name, "last").reliability());
    for (size_t b = 0; !bins.empty() && b < bins.front().size(); ++b) {
      md << "| " << format_fixed(bins.front()[b].lower, 3) << "–"
         << format_fixed(bins.front()[b].upper, 3) << " |";
      for (const auto& arm_bins : bins)
        md << " " << (arm_bins[b].pixels > 0 ? calibration_cell(arm_bins[b].accuracy) : "-")
           << " |";
      md << "\n";
    }
  }

  md << "\n## Runs\n\n| arm | seed | epochs | best epoch | stop | wall s |";
  for (const auto& season : analysis.seasons)
    md << " " << season << " wF1 last | " << season << " wF1 best |";
  md << "\n|---|---|---|---|---|---|";
  for (size_t i = 0; i < analysis.seasons.size(); ++i)
    md << "---|---|";
  md << "\n";
  for (const auto& run : summary.runs) {
    md << "| " << run.arm << " | " << run.seed << " | " << run.curve.size() << " | "
       << run.best_epoch << " | " << stop_text(run) << " | " << format_fixed(run.total_seconds, 1)
       << " |";
    for (const auto& season : analysis.seasons)
      md << " " << per_run_season_text(run, "last", season) << " | "
         << per_run_season_text(run, "best", season) << " |";
    md << "\n";
  }
  if (!summary.quicklooks.empty()) {
    md << "\n## Quicklooks\n\n";
    for (const auto& q : summary.quicklooks) {
      md << "### " << q.scene_id << " (" << q.season << ")\n\n" << q.caption << "\n\n";
      if (!q.input_png.empty()) md << "![input](" << q.input_png << ") ";
      md << "![truth](" << q.truth_png << ")";
      for (const auto& [arm, png] : q.predictions)
        md << " ![" << arm << "](" << png << ")";
      md << "\n\n";
    }
  }
  md << label_efficiency_markdown(summary, analyse_label_efficiency(summary))
     << domains_markdown(summary, analyse_domains(summary, analysis));
  md << "\nThe full figures are in summary.json; report.html has the charts.\n";
  return md.str();
}

std::string render_html(const ExperimentSummary& summary, const Analysis& analysis,
                        const fs::path& experiment_dir) {
  std::ostringstream html;
  const std::string title = "sarseg experiment " + summary.name;
  html_head(html, title);
  html_overview(html, summary, title);
  html_verdicts(html, summary, analysis);
  html << pretraining_html(summary);
  html_learning_curves(html, summary, analysis);
  html_test_metrics(html, summary, analysis);
  html_calibration(html, summary, analysis);
  html_confusion_matrices(html, summary, analysis);
  html_test_scenes(html, summary, experiment_dir);
  html << label_efficiency_html(summary, analyse_label_efficiency(summary))
       << domains_html(summary, analyse_domains(summary, analysis));
  html_runs_table(html, summary, analysis);
  html << "<p><small>Every figure is also in summary.json beside this page.</small></p>"
       << "</body></html>\n";
  return html.str();
}

ReportFiles write_report(const ExperimentSummary& summary, const fs::path& experiment_dir) {
  ensure_output_directory(experiment_dir);
  // With a speckle-filter axis the report proper is that of the unfiltered runs (or the first
  // filter's), and a section gives each filter's verdicts; summary.json keeps every run.
  const std::vector<std::string> filters = filters_of(summary);
  const ExperimentSummary primary =
      filters.size() > 1 ? runs_with_filter(summary, filters.front()) : summary;
  const Analysis analysis = analyse(primary);
  ReportFiles files{experiment_dir / "summary.json", experiment_dir / "report.md",
                    experiment_dir / "report.html"};
  nlohmann::json document = summary_document(primary, analysis);
  std::string markdown = render_markdown(primary, analysis);
  std::string html = render_html(primary, analysis, experiment_dir);
  if (filters.size() > 1) {
    const auto per_filter = verdicts_per_filter(summary);
    document["runs"] = summary.runs;
    document["speckle_filters"] = speckle_axis_json(per_filter);
    markdown += speckle_axis_markdown(per_filter);
    const std::string closing = "<p><small>Every figure is also in summary.json";
    const auto at = html.rfind(closing);
    if (at != std::string::npos) html.insert(at, speckle_axis_html(summary, per_filter));
  }
  write_file_atomically(files.summary_json, document.dump(2) + "\n");
  write_file_atomically(files.markdown, markdown);
  write_file_atomically(files.html, html);
  return files;
}

}  // namespace sarseg::experiment
