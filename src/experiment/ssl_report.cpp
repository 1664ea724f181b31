// The report's section on the ssl arm's pretraining (report.h).
#include <cmath>
#include <cstdio>
#include <sstream>
#include <utility>

#include "sarseg/experiment/report.h"
#include "sarseg/experiment/svg_chart.h"
#include "sarseg/util/strings.h"

namespace sarseg::experiment {
namespace {

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "n/a";
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

// "a → b → c" of a trajectory, at most `keep` values (first, evenly spaced, last).
std::string trajectory(const std::vector<double>& values, int digits, size_t keep = 8) {
  std::vector<std::string> parts;
  if (values.empty()) return "n/a";
  const size_t n = values.size();
  const size_t shown = std::min(n, keep);
  for (size_t k = 0; k < shown; ++k) {
    const size_t i = shown == 1 ? 0 : k * (n - 1) / (shown - 1);
    parts.push_back(fixed(values[i], digits));
  }
  return join(parts, " → ");
}

struct Lines {
  std::string what, cost, monitor;
};

Lines lines_of(const PretrainingRecord& p) {
  Lines l;
  l.what = p.objective + " pretraining of the " + p.encoder + " encoder (start: " + p.init +
           ") on " + std::to_string(p.scenes) + " scenes without labels, " +
           std::to_string(p.epochs) + " epochs, " + p.scope + "; weights " + p.weights;
  const double rate = p.train_seconds > 0 ? double(p.samples_seen) / p.train_seconds : 0.0;
  l.cost = "cost: " + fixed(p.wall_seconds, 1) + " s wall (" + fixed(p.train_seconds, 1) +
           " s of training steps), " + std::to_string(p.samples_seen) +
           " samples seen (two views each), " + fixed(rate, 1) + " samples/s";
  l.monitor = "collapse monitor per epoch (epoch 0 = before training): embedding effective rank " +
              trajectory(p.effective_rank, 2) + "; normalised std " +
              trajectory(p.normalised_std, 3) + "; mean per-dimension std " +
              trajectory(p.mean_std, 3) + "; encoder-output effective rank " +
              trajectory(p.encoder_effective_rank, 2);
  return l;
}

// The collapse monitor's effective ranks per epoch: a curve that falls towards 1 is collapse.
std::string effective_rank_svg(const PretrainingRecord& p) {
  svg::LineChart chart;
  chart.title = "effective rank during pretraining (epoch 0: before training)";
  chart.x_label = "pretraining epoch";
  chart.integer_x = true;
  chart.x_min = 0;
  const std::pair<const char*, const std::vector<double>*> curves[] = {
      {"embeddings", &p.effective_rank}, {"encoder output", &p.encoder_effective_rank}};
  for (size_t c = 0; c < 2; ++c) {
    svg::SpreadSeries series{curves[c].first, svg::series_colour(c), {}};
    const std::vector<double>& values = *curves[c].second;
    for (size_t epoch = 0; epoch < values.size(); ++epoch)
      if (std::isfinite(values[epoch]))
        series.points.push_back({double(epoch), values[epoch], values[epoch], values[epoch]});
    if (!series.points.empty()) chart.series.push_back(std::move(series));
  }
  return chart.series.empty() ? "" : svg::line_chart_svg(chart);
}

}  // namespace

std::string pretraining_markdown(const ExperimentSummary& summary) {
  if (!summary.pretraining) return "";
  const Lines l = lines_of(*summary.pretraining);
  return "## Self-supervised SAR pretraining (ssl arm)\n\n- " + l.what + "\n- " + l.cost + "\n- " +
         l.monitor + "\n\n";
}

std::string pretraining_html(const ExperimentSummary& summary) {
  if (!summary.pretraining) return "";
  const Lines l = lines_of(*summary.pretraining);
  std::ostringstream html;
  html << "<h2 id='ssl'>Self-supervised SAR pretraining (ssl arm)</h2><ul><li>"
       << escape_xml(l.what) << "</li><li>" << escape_xml(l.cost) << "</li><li>"
       << escape_xml(l.monitor) << "</li></ul>";
  const std::string chart = effective_rank_svg(*summary.pretraining);
  if (!chart.empty()) html << "<div class='charts'>" << chart << "</div>";
  return html.str();
}

}  // namespace sarseg::experiment
