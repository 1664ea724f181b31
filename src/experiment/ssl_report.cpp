// The report's section on the ssl arm's pretraining (report.h).
#include <cmath>
#include <cstdio>
#include <sstream>

#include "sarseg/experiment/report.h"
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
  html << "<h2>Self-supervised SAR pretraining (ssl arm)</h2><ul><li>" << escape_xml(l.what)
       << "</li><li>" << escape_xml(l.cost) << "</li><li>" << escape_xml(l.monitor) << "</li></ul>";
  return html.str();
}

}  // namespace sarseg::experiment
