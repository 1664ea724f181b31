#include "sarseg/experiment/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>

#include "sarseg/util/atomic_file.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- text helpers ------------------------------------------------------------------------------

std::string escape_html(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

std::string signed_fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%+.*f", decimals, v);
  return buffer;
}

std::string short_number(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3g", v);
  return buffer;
}

int decimals_for(const std::string& unit) {
  if (unit == "epochs" || unit == "s") return 1;
  if (unit == "samples") return 0;
  return 4;
}

std::string spread_text(const Spread& s, const std::string& unit) {
  if (s.count == 0) return "n/a";
  const int d = decimals_for(unit);
  return fixed(s.median, d) + " (" + fixed(s.min, d) + "–" + fixed(s.max, d) + ")";
}

std::string paired_text(const FigureAnalysis& f) {
  if (!f.has_paired || f.paired.differences.empty()) return "n/a";
  const int d = decimals_for(f.unit);
  return signed_fixed(f.paired.spread.median, d) + " (" + signed_fixed(f.paired.spread.min, d) +
         " to " + signed_fixed(f.paired.spread.max, d) + ")";
}

const std::vector<std::string> kArmColours = {"#d95f02", "#1b9e77", "#7570b3",
                                              "#e7298a", "#66a61e", "#a6761d"};

std::string arm_colour(const ExperimentSummary& summary, const std::string& arm) {
  for (size_t i = 0; i < summary.arms.size(); ++i)
    if (summary.arms[i].name == arm) return kArmColours[i % kArmColours.size()];
  return "#666666";
}

// ---- SVG charts --------------------------------------------------------------------------------

struct Axis {
  double lo = 0, hi = 1;              // data range
  double pixel_lo = 0, pixel_hi = 1;  // screen range
  double map(double v) const {
    if (hi == lo) return 0.5 * (pixel_lo + pixel_hi);
    return pixel_lo + (v - lo) / (hi - lo) * (pixel_hi - pixel_lo);
  }
};

// "Nice" tick values covering [lo, hi].
std::vector<double> ticks(double lo, double hi, int target = 5) {
  std::vector<double> out;
  if (!(hi > lo)) {
    out.push_back(lo);
    return out;
  }
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step)
    out.push_back(std::abs(t) < 1e-12 * step ? 0.0 : t);
  return out;
}

std::string tick_label(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

struct Frame {
  int width = 380, height = 240;
  int left = 52, right = 12, top = 26, bottom = 38;
};

void draw_axes(std::ostringstream& svg, const Frame& f, const Axis& x, const Axis& y,
               const std::string& title, const std::string& x_label, bool integer_x) {
  svg << "<text x='" << f.left << "' y='16' class='ct'>" << escape_html(title) << "</text>";
  for (double t : ticks(y.lo, y.hi)) {
    const double py = y.map(t);
    svg << "<line x1='" << f.left << "' x2='" << f.width - f.right << "' y1='" << py << "' y2='"
        << py << "' class='grid'/>";
    svg << "<text x='" << f.left - 4 << "' y='" << py + 3 << "' class='yt'>" << tick_label(t)
        << "</text>";
  }
  for (double t : ticks(x.lo, x.hi, 6)) {
    if (integer_x && std::abs(t - std::round(t)) > 1e-9) continue;
    const double px = x.map(t);
    svg << "<text x='" << px << "' y='" << f.height - f.bottom + 14 << "' class='xt'>"
        << tick_label(t) << "</text>";
  }
  svg << "<rect x='" << f.left << "' y='" << f.top << "' width='" << f.width - f.left - f.right
      << "' height='" << f.height - f.top - f.bottom << "' class='frame'/>";
  svg << "<text x='" << (f.left + f.width - f.right) / 2 << "' y='" << f.height - 6
      << "' class='xl'>" << escape_html(x_label) << "</text>";
}

// Learning curve of one quantity: per arm the median over seeds as a line and the min-max over
// seeds as a band, at every epoch some seed reached.
std::string learning_curve_svg(const ExperimentSummary& summary, const std::string& title,
                               double EpochRecord::*member, bool log_scale) {
  struct Point {
    double median, min, max;
  };
  std::map<std::string, std::map<int64_t, Point>> per_arm;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  int64_t max_epoch = 1;
  const auto transform = [&](double v) { return log_scale ? std::log10(std::max(v, 1e-6)) : v; };
  for (const auto& arm : summary.arms) {
    std::map<int64_t, std::vector<double>> values;
    for (const auto& run : summary.runs) {
      if (run.arm != arm.name) continue;
      for (const auto& e : run.curve)
        if (std::isfinite(e.*member)) values[e.epoch].push_back(transform(e.*member));
    }
    for (const auto& [epoch, v] : values) {
      const Spread s = spread_of(v);
      per_arm[arm.name][epoch] = {s.median, s.min, s.max};
      lo = std::min(lo, s.min);
      hi = std::max(hi, s.max);
      max_epoch = std::max(max_epoch, epoch);
    }
  }
  Frame f;
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << f.width << "' height='" << f.height
      << "' viewBox='0 0 " << f.width << " " << f.height << "' role='img'>";
  if (!std::isfinite(lo)) {
    svg << "<text x='20' y='40' class='ct'>" << escape_html(title) << ": no data</text></svg>";
    return svg.str();
  }
  const double pad = hi > lo ? 0.05 * (hi - lo) : 0.05 * std::max(1.0, std::abs(hi));
  Axis x{1, static_cast<double>(std::max<int64_t>(max_epoch, 2)), double(f.left),
         double(f.width - f.right)};
  Axis y{lo - pad, hi + pad, double(f.height - f.bottom), double(f.top)};
  draw_axes(svg, f, x, y, title + (log_scale ? " (log10)" : ""), "epoch", true);
  for (const auto& arm : summary.arms) {
    const auto it = per_arm.find(arm.name);
    if (it == per_arm.end() || it->second.empty()) continue;
    const std::string colour = arm_colour(summary, arm.name);
    const auto& points = it->second;
    std::ostringstream band;
    for (const auto& [epoch, p] : points)
      band << x.map(double(epoch)) << "," << y.map(p.max) << " ";
    for (auto rit = points.rbegin(); rit != points.rend(); ++rit)
      band << x.map(double(rit->first)) << "," << y.map(rit->second.min) << " ";
    svg << "<polygon points='" << band.str() << "' fill='" << colour
        << "' fill-opacity='0.18' stroke='none' class='band' data-arm='" << escape_html(arm.name)
        << "'/>";
    std::ostringstream line;
    for (const auto& [epoch, p] : points)
      line << x.map(double(epoch)) << "," << y.map(p.median) << " ";
    svg << "<polyline points='" << line.str() << "' fill='none' stroke='" << colour
        << "' stroke-width='2' class='median' data-arm='" << escape_html(arm.name) << "'/>";
    if (points.size() == 1) {
      const auto& [epoch, p] = *points.begin();
      svg << "<circle cx='" << x.map(double(epoch)) << "' cy='" << y.map(p.median)
          << "' r='3' fill='" << colour << "'/>";
    }
  }
  svg << "</svg>";
  return svg.str();
}

// Grouped bars: one group per season, one bar per arm at the median over seeds, whiskers from
// the minimum to the maximum.
std::string season_bars_svg(const ExperimentSummary& summary, const Analysis& analysis,
                            const std::string& weights, const std::string& metric,
                            const std::string& title) {
  Frame f;
  f.width = 420;
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << f.width << "' height='" << f.height
      << "' viewBox='0 0 " << f.width << " " << f.height << "' role='img'>";
  std::vector<const FigureAnalysis*> groups;
  double lo = 1.0;
  for (const auto& season : analysis.seasons) {
    const FigureAnalysis* fig = analysis.find("test." + weights + "." + season + "." + metric);
    groups.push_back(fig);
    if (fig)
      for (const auto& a : fig->arms)
        if (a.spread.count > 0) lo = std::min(lo, a.spread.min);
  }
  if (groups.empty()) {
    svg << "<text x='20' y='40' class='ct'>" << escape_html(title) << ": no data</text></svg>";
    return svg.str();
  }
  // Start the axis a little below the lowest whisker (rounded down to 0.1) so differences show;
  // the axis labels make the offset explicit.
  const double y_lo = std::max(0.0, std::floor((lo - 0.05) * 10.0) / 10.0);
  Axis y{y_lo, 1.0, double(f.height - f.bottom), double(f.top)};
  Axis x{0, double(groups.size()), double(f.left), double(f.width - f.right)};
  svg << "<text x='" << f.left << "' y='16' class='ct'>" << escape_html(title) << "</text>";
  for (double t : ticks(y.lo, y.hi)) {
    svg << "<line x1='" << f.left << "' x2='" << f.width - f.right << "' y1='" << y.map(t)
        << "' y2='" << y.map(t) << "' class='grid'/>";
    svg << "<text x='" << f.left - 4 << "' y='" << y.map(t) + 3 << "' class='yt'>" << tick_label(t)
        << "</text>";
  }
  const size_t arms = std::max<size_t>(1, summary.arms.size());
  const double group_width = (x.pixel_hi - x.pixel_lo) / double(groups.size());
  const double bar_width = 0.7 * group_width / double(arms);
  for (size_t g = 0; g < groups.size(); ++g) {
    const double gx = x.pixel_lo + g * group_width + 0.15 * group_width;
    svg << "<text x='" << x.pixel_lo + (g + 0.5) * group_width << "' y='"
        << f.height - f.bottom + 14 << "' class='xt'>" << escape_html(analysis.seasons[g])
        << "</text>";
    if (!groups[g]) continue;
    for (size_t a = 0; a < summary.arms.size(); ++a) {
      const ArmFigure* arm = groups[g]->find(summary.arms[a].name);
      if (!arm || arm->spread.count == 0) continue;
      const double bx = gx + a * bar_width;
      const double top = y.map(std::max(arm->spread.median, y_lo));
      const std::string colour = arm_colour(summary, arm->arm);
      svg << "<rect x='" << bx << "' y='" << top << "' width='" << bar_width * 0.9 << "' height='"
          << y.pixel_lo - top << "' fill='" << colour << "' class='bar' data-arm='"
          << escape_html(arm->arm) << "' data-value='" << fixed(arm->spread.median, 6)
          << "'><title>" << escape_html(arm->arm) << " " << escape_html(analysis.seasons[g])
          << ": median " << fixed(arm->spread.median, 4) << ", min " << fixed(arm->spread.min, 4)
          << ", max " << fixed(arm->spread.max, 4) << "</title></rect>";
      const double cx = bx + bar_width * 0.45;
      svg << "<line x1='" << cx << "' x2='" << cx << "' y1='"
          << y.map(std::max(arm->spread.min, y_lo)) << "' y2='" << y.map(arm->spread.max)
          << "' class='whisker'/>";
      for (double v : {arm->spread.min, arm->spread.max})
        svg << "<line x1='" << cx - 4 << "' x2='" << cx + 4 << "' y1='" << y.map(std::max(v, y_lo))
            << "' y2='" << y.map(std::max(v, y_lo)) << "' class='whisker'/>";
    }
  }
  svg << "<rect x='" << f.left << "' y='" << f.top << "' width='" << f.width - f.left - f.right
      << "' height='" << f.height - f.top - f.bottom << "' class='frame'/></svg>";
  return svg.str();
}

// Paired differences per seed as a dot strip around zero, for one figure.
std::string paired_strip_svg(const FigureAnalysis& figure, const std::string& reference,
                             const std::string& baseline) {
  Frame f;
  f.width = 380;
  f.height = 90;
  f.top = 22;
  f.bottom = 30;
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << f.width << "' height='" << f.height
      << "' viewBox='0 0 " << f.width << " " << f.height << "' role='img'>";
  double extent = 0;
  for (double d : figure.paired.differences)
    if (std::isfinite(d)) extent = std::max(extent, std::abs(d));
  if (extent == 0) extent = 1;
  Axis x{-1.1 * extent, 1.1 * extent, double(f.left), double(f.width - f.right)};
  svg << "<text x='" << f.left << "' y='14' class='ct'>" << escape_html(reference) << " − "
      << escape_html(baseline) << " per seed</text>";
  const double mid = 0.5 * (f.top + f.height - f.bottom);
  svg << "<line x1='" << x.map(0) << "' x2='" << x.map(0) << "' y1='" << f.top << "' y2='"
      << f.height - f.bottom << "' class='zero'/>";
  for (double t : ticks(x.lo, x.hi, 4))
    svg << "<text x='" << x.map(t) << "' y='" << f.height - f.bottom + 14 << "' class='xt'>"
        << tick_label(t) << "</text>";
  for (double d : figure.paired.differences)
    svg << "<circle cx='" << x.map(d) << "' cy='" << mid << "' r='5' class='dot'/>";
  if (!figure.paired.differences.empty())
    svg << "<line x1='" << x.map(figure.paired.spread.median) << "' x2='"
        << x.map(figure.paired.spread.median) << "' y1='" << mid - 10 << "' y2='" << mid + 10
        << "' class='mline'/>";
  svg << "</svg>";
  return svg.str();
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
  html << "<table class='cm'><caption>" << escape_html(arm) << " · " << escape_html(season) << " · "
       << runs << " run(s)</caption>";
  if (total.empty()) {
    html << "<tr><td>no data</td></tr></table>";
    return html.str();
  }
  const auto name = [&](size_t i) {
    return i < summary.class_names.size() ? summary.class_names[i] : std::to_string(i);
  };
  html << "<tr><th>truth \\ predicted</th>";
  for (size_t j = 0; j < total.size(); ++j)
    html << "<th>" << escape_html(name(j)) << "</th>";
  html << "</tr>";
  for (size_t i = 0; i < total.size(); ++i) {
    int64_t row = 0;
    for (int64_t v : total[i])
      row += v;
    html << "<tr><th>" << escape_html(name(i)) << "</th>";
    for (size_t j = 0; j < total.size(); ++j) {
      const double fraction = row > 0 ? double(total[i][j]) / double(row) : kNaN;
      html << "<td style='background:" << (row > 0 ? cell_background(fraction) : "#eee")
           << (fraction > 0.55 ? ";color:#fff" : "") << "' title='" << total[i][j] << " pixels'>"
           << (row > 0 ? fixed(fraction, 2) : "–") << "</td>";
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

// Headline figures: a table row per figure.
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
  for (const auto& f : analysis.figures) {
    if (f.key.rfind(prefix, 0) != 0 || f.key.find("melt_vs") != std::string::npos) continue;
    md << "| " << f.label << (f.unit.empty() ? "" : " [" + f.unit + "]") << " |";
    for (const auto& arm : summary.arms) {
      const ArmFigure* a = f.find(arm.name);
      md << " " << (a ? spread_text(a->spread, f.unit) : "n/a") << " |";
    }
    md << " " << paired_text(f) << " | "
       << (f.has_paired ? short_number(f.paired.wilcoxon_p) : "n/a") << " | "
       << (f.has_paired ? short_number(f.paired.sign_test_p) : "n/a") << " |\n";
  }
}

void figure_rows_html(std::ostringstream& html, const ExperimentSummary& summary,
                      const Analysis& analysis, const std::string& prefix) {
  html << "<table class='fig'><tr><th>figure</th>";
  for (const auto& arm : summary.arms)
    html << "<th><span class='sw' style='background:" << arm_colour(summary, arm.name)
         << "'></span>" << escape_html(arm.name) << "<br><small>median (min–max)</small></th>";
  html << "<th>paired " << escape_html(summary.reference_arm) << " − "
       << escape_html(summary.baseline_arm)
       << "<br><small>median (range)</small></th><th>Wilcoxon p</th><th>sign p</th></tr>";
  for (const auto& f : analysis.figures) {
    if (f.key.rfind(prefix, 0) != 0 || f.key.find("melt_vs") != std::string::npos) continue;
    html << "<tr><td>" << escape_html(f.label) << (f.unit.empty() ? "" : " [" + f.unit + "]")
         << "</td>";
    for (const auto& arm : summary.arms) {
      const ArmFigure* a = f.find(arm.name);
      html << "<td>" << (a ? spread_text(a->spread, f.unit) : "n/a") << "</td>";
    }
    html << "<td>" << paired_text(f) << "</td><td>"
         << (f.has_paired ? short_number(f.paired.wilcoxon_p) : "n/a") << "</td><td>"
         << (f.has_paired ? short_number(f.paired.sign_test_p) : "n/a") << "</td></tr>";
  }
  html << "</table>";
}

std::string per_run_season_text(const RunResult& run, const std::string& weights,
                                const std::string& season) {
  const Evaluation* e = run.find(weights);
  const SeasonMetrics* m = e ? e->find(season) : nullptr;
  return m ? fixed(m->weighted_f1, 4) : "n/a";
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
  return doc;
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
     << "\n- total wall time: " << fixed(summary.total_seconds, 1)
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

  md << "## Convergence\n\n";
  figure_rows_markdown(md, summary, analysis, "convergence.");
  md << "\n## Test metrics per season\n\n";
  figure_rows_markdown(md, summary, analysis, "test.");

  md << "\n## Runs\n\n| arm | seed | epochs | best epoch | stop | wall s |";
  for (const auto& season : analysis.seasons)
    md << " " << season << " wF1 last | " << season << " wF1 best |";
  md << "\n|---|---|---|---|---|---|";
  for (size_t i = 0; i < analysis.seasons.size(); ++i)
    md << "---|---|";
  md << "\n";
  for (const auto& run : summary.runs) {
    md << "| " << run.arm << " | " << run.seed << " | " << run.curve.size() << " | "
       << run.best_epoch << " | " << run.stop_reason << " | " << fixed(run.total_seconds, 1)
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
  md << "\nThe full figures are in summary.json; report.html has the charts.\n";
  return md.str();
}

std::string render_html(const ExperimentSummary& summary, const Analysis& analysis,
                        const fs::path& experiment_dir) {
  std::ostringstream html;
  const std::string title = "sarseg experiment " + summary.name;
  html << "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
       << "<meta name='viewport' content='width=device-width,initial-scale=1'>"
       << "<title>pending: " << escape_html(title)
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
       << escape_html(title) << "');});</script>"
       << "<style>"
          "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222}"
          "h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;"
          "margin-top:28px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid "
          "#ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:"
          "left}.charts{display:flex;flex-wrap:wrap;gap:10px}.ct{font-size:12px;font-weight:600}"
          ".yt{font-size:10px;text-anchor:end}.xt{font-size:10px;text-anchor:middle}.xl{font-size:"
          "11px;text-anchor:middle}.grid{stroke:#e5e5e5}.frame{fill:none;stroke:#999}.whisker{"
          "stroke:#222;stroke-width:1.2}.zero{stroke:#999;stroke-dasharray:3 3}.dot{fill:#444;"
          "fill-opacity:.7}.mline{stroke:#c00;stroke-width:2}.sw{display:inline-block;width:11px;"
          "height:11px;margin-right:4px;vertical-align:middle}.verdict{border-left:5px solid #999;"
          "padding:6px 10px;margin:10px 0;background:#fafafa}.v-yes{border-color:#2a9d2a}.v-no{"
          "border-color:#c0392b}.v-open{border-color:#d4a017}.level{font-weight:700;text-"
          "transform:uppercase;font-size:12px}.cm td{min-width:44px}.cm caption{font-size:12px;"
          "font-weight:600;text-align:left}.cms{display:flex;flex-wrap:wrap;gap:14px}.ql{display:"
          "flex;flex-wrap:wrap;gap:8px;align-items:flex-start}.ql figure{margin:0}.ql img{width:"
          "210px;image-rendering:pixelated;border:1px solid #ccc}.ql figcaption{font-size:12px}"
          ".missing{color:#c00}.rule{font-size:12px;color:#555}small{color:#666}"
          "</style></head><body>";
  html << "<h1>" << escape_html(title) << ": " << escape_html(summary.reference_arm) << " vs "
       << escape_html(summary.baseline_arm) << "</h1>";
  html << "<p>Profile <b>" << escape_html(summary.profile) << "</b> · model "
       << escape_html(summary.model) << " · data " << escape_html(summary.data) << " · "
       << summary.seeds.size() << " seeds × " << summary.arms.size() << " arms, "
       << summary.runs.size() << " runs finished · wall time " << fixed(summary.total_seconds, 1)
       << " s · " << escape_html(summary.machine) << " · " << escape_html(summary.created_utc)
       << " · sarseg " << escape_html(summary.sarseg_version) << "</p><p>";
  for (const auto& arm : summary.arms)
    html << "<span class='sw' style='background:" << arm_colour(summary, arm.name) << "'></span><b>"
         << escape_html(arm.name) << "</b>: " << escape_html(arm.description) << " &nbsp; ";
  html << "</p>";

  html << "<h2>Verdicts</h2>";
  for (const auto& v : analysis.verdicts) {
    html << "<div class='verdict " << verdict_class(v.level) << "'><div><b>"
         << escape_html(v.question) << "</b> <span class='level'>"
         << escape_html(to_string(v.level)) << "</span></div><div>" << escape_html(v.answer)
         << "</div>";
    if (!v.supporting.empty()) {
      html << "<ul>";
      for (const auto& s : v.supporting)
        html << "<li><small>" << escape_html(s) << "</small></li>";
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
  html << "<p class='rule'>Rule: " << escape_html(analysis.rule) << "</p>";

  html << "<h2>Learning curves</h2><p><small>Line: median over seeds at each epoch; band: "
          "minimum to maximum over the seeds that reached that epoch.</small></p>"
       << "<div class='charts'>"
       << learning_curve_svg(summary, "training loss", &EpochRecord::train_loss, false)
       << learning_curve_svg(summary, "validation loss", &EpochRecord::val_loss, false)
       << learning_curve_svg(summary, "validation weighted F1", &EpochRecord::val_weighted_f1,
                             false)
       << "</div>";
  html << "<h3>Convergence figures</h3>";
  {
    std::ostringstream table;
    figure_rows_html(table, summary, analysis, "convergence.");
    html << table.str();
  }

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
  {
    std::ostringstream table;
    figure_rows_html(table, summary, analysis, "test.");
    html << table.str();
  }

  html << "<h2>Confusion matrices</h2><p><small>Last-epoch weights, pixel counts pooled over "
          "seeds, each row normalised by the true class (diagonal = recall).</small></p>";
  for (const auto& season : analysis.seasons) {
    html << "<div class='cms'>";
    for (const auto& arm : summary.arms)
      html << confusion_table_html(summary, arm.name, "last", season);
    html << "</div>";
  }

  if (!summary.quicklooks.empty()) {
    html << "<h2>Test scenes</h2>";
    if (!summary.class_colours.empty()) {
      html << "<p>";
      for (size_t i = 0; i < summary.class_colours.size(); ++i)
        html << "<span class='sw' style='background:" << escape_html(summary.class_colours[i])
             << "'></span>"
             << escape_html(i < summary.class_names.size() ? summary.class_names[i]
                                                           : std::to_string(i))
             << " &nbsp; ";
      html << "</p>";
    }
    for (const auto& q : summary.quicklooks) {
      html << "<h3>" << escape_html(q.scene_id) << " (" << escape_html(q.season)
           << ")</h3><p><small>" << escape_html(q.caption) << "</small></p><div class='ql'>";
      const auto figure = [&](const std::string& file, const std::string& label) {
        std::string error;
        const std::string uri = data_uri_for(experiment_dir / file, &error);
        if (uri.empty()) {
          html << "<p class='missing'>" << escape_html(label) << ": " << escape_html(error)
               << "</p>";
          return;
        }
        html << "<figure><img alt='" << escape_html(q.scene_id + " " + label) << "' src='" << uri
             << "'><figcaption>" << escape_html(label) << "</figcaption></figure>";
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

  html << "<h2>Runs</h2><table><tr><th>arm</th><th>seed</th><th>epochs</th><th>best epoch</th>"
          "<th>stop</th><th>wall s</th>";
  for (const auto& season : analysis.seasons)
    html << "<th>" << escape_html(season) << " wF1<br><small>last / best</small></th>";
  html << "</tr>";
  for (const auto& run : summary.runs) {
    html << "<tr><td>" << escape_html(run.arm) << "</td><td>" << run.seed << "</td><td>"
         << run.curve.size() << "</td><td>" << run.best_epoch << "</td><td>"
         << escape_html(run.stop_reason) << "</td><td>" << fixed(run.total_seconds, 1) << "</td>";
    for (const auto& season : analysis.seasons)
      html << "<td>" << per_run_season_text(run, "last", season) << " / "
           << per_run_season_text(run, "best", season) << "</td>";
    html << "</tr>";
  }
  html << "</table><p><small>Every figure is also in summary.json beside this page.</small></p>"
       << "</body></html>\n";
  return html.str();
}

ReportFiles write_report(const ExperimentSummary& summary, const fs::path& experiment_dir) {
  ensure_output_directory(experiment_dir);
  const Analysis analysis = analyse(summary);
  ReportFiles files{experiment_dir / "summary.json", experiment_dir / "report.md",
                    experiment_dir / "report.html"};
  write_file_atomically(files.summary_json, summary_document(summary, analysis).dump(2) + "\n");
  write_file_atomically(files.markdown, render_markdown(summary, analysis));
  write_file_atomically(files.html, render_html(summary, analysis, experiment_dir));
  return files;
}

}  // namespace sarseg::experiment
