#include "sarseg/experiment/svg_chart.h"
#include "sarseg/util/strings.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace sarseg::experiment::svg {

namespace {

// Chart margins around the plotting area, in pixels.
struct Frame {
  int width = 380, height = 240;
  int left = 52, right = 12, top = 26, bottom = 38;
};

std::string tick_label(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

void open_svg(std::ostringstream& svg, const Frame& f) {
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << f.width << "' height='" << f.height
      << "' viewBox='0 0 " << f.width << " " << f.height << "' role='img'>";
}

// The whole chart when there is nothing to draw.
std::string no_data_svg(std::ostringstream& svg, const std::string& title) {
  svg << "<text x='20' y='40' class='ct'>" << escape_markup(title) << ": no data</text></svg>";
  return svg.str();
}

void draw_title(std::ostringstream& svg, const Frame& f, const std::string& title) {
  svg << "<text x='" << f.left << "' y='16' class='ct'>" << escape_markup(title) << "</text>";
}

// Horizontal grid lines with their labels at the y ticks.
void draw_y_grid(std::ostringstream& svg, const Frame& f, const Axis& y) {
  for (double t : nice_ticks(y.lo, y.hi)) {
    const double py = y.map(t);
    svg << "<line x1='" << f.left << "' x2='" << f.width - f.right << "' y1='" << py << "' y2='"
        << py << "' class='grid'/>";
    svg << "<text x='" << f.left - 4 << "' y='" << py + 3 << "' class='yt'>" << tick_label(t)
        << "</text>";
  }
}

void draw_x_tick_labels(std::ostringstream& svg, const Frame& f, const Axis& x, int target,
                        bool integer_x) {
  for (double t : nice_ticks(x.lo, x.hi, target)) {
    if (integer_x && std::abs(t - std::round(t)) > 1e-9) continue;
    svg << "<text x='" << x.map(t) << "' y='" << f.height - f.bottom + 14 << "' class='xt'>"
        << tick_label(t) << "</text>";
  }
}

void draw_frame(std::ostringstream& svg, const Frame& f) {
  svg << "<rect x='" << f.left << "' y='" << f.top << "' width='" << f.width - f.left - f.right
      << "' height='" << f.height - f.top - f.bottom << "' class='frame'/>";
}

void draw_spread_series(std::ostringstream& svg, const SpreadSeries& series, const Axis& x,
                        const Axis& y) {
  const auto& points = series.points;
  std::ostringstream band;
  for (const auto& p : points)
    band << x.map(p.x) << "," << y.map(p.max) << " ";
  for (auto it = points.rbegin(); it != points.rend(); ++it)
    band << x.map(it->x) << "," << y.map(it->min) << " ";
  svg << "<polygon points='" << band.str() << "' fill='" << series.colour
      << "' fill-opacity='0.18' stroke='none' class='band' data-arm='" << escape_markup(series.name)
      << "'/>";
  std::ostringstream line;
  for (const auto& p : points)
    line << x.map(p.x) << "," << y.map(p.median) << " ";
  svg << "<polyline points='" << line.str() << "' fill='none' stroke='" << series.colour
      << "' stroke-width='2' class='median' data-arm='" << escape_markup(series.name) << "'/>";
  if (points.size() == 1) {
    svg << "<circle cx='" << x.map(points.front().x) << "' cy='" << y.map(points.front().median)
        << "' r='3' fill='" << series.colour << "'/>";
  }
}

// One bar at its median (clipped to the axis start) with its min-max whisker and caps.
void draw_bar(std::ostringstream& svg, const Bar& bar, const BarSeries& series,
              const std::string& group, double bx, double bar_width, const Axis& y) {
  const double y_lo = y.lo;
  const double top = y.map(std::max(bar.median, y_lo));
  svg << "<rect x='" << bx << "' y='" << top << "' width='" << bar_width * 0.9 << "' height='"
      << y.pixel_lo - top << "' fill='" << series.colour << "' class='bar' data-arm='"
      << escape_markup(series.name) << "' data-value='" << format_fixed(bar.median, 6)
      << "'><title>" << escape_markup(series.name) << " " << escape_markup(group) << ": median "
      << format_fixed(bar.median, 4) << ", min " << format_fixed(bar.min, 4) << ", max "
      << format_fixed(bar.max, 4) << "</title></rect>";
  const double cx = bx + bar_width * 0.45;
  svg << "<line x1='" << cx << "' x2='" << cx << "' y1='" << y.map(std::max(bar.min, y_lo))
      << "' y2='" << y.map(bar.max) << "' class='whisker'/>";
  for (double v : {bar.min, bar.max})
    svg << "<line x1='" << cx - 4 << "' x2='" << cx + 4 << "' y1='" << y.map(std::max(v, y_lo))
        << "' y2='" << y.map(std::max(v, y_lo)) << "' class='whisker'/>";
}

}  // namespace

std::string escape_markup(const std::string& text) {
  return escape_xml(text);
}

std::string format_fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

std::string format_signed(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%+.*f", decimals, v);
  return buffer;
}

const char* chart_css() {
  return ".ct{font-size:12px;font-weight:600}.yt{font-size:10px;text-anchor:end}.xt{font-size:"
         "10px;text-anchor:middle}.xl{font-size:11px;text-anchor:middle}.grid{stroke:#e5e5e5}"
         ".frame{fill:none;stroke:#999}.whisker{stroke:#222;stroke-width:1.2}.zero{stroke:#999;"
         "stroke-dasharray:3 3}.dot{fill:#444;fill-opacity:.7}.mline{stroke:#c00;stroke-width:2}";
}

const std::string& series_colour(size_t index) {
  static const std::vector<std::string> kColours = {"#d95f02", "#1b9e77", "#7570b3",
                                                    "#e7298a", "#66a61e", "#a6761d"};
  return kColours[index % kColours.size()];
}

double Axis::map(double v) const {
  if (hi == lo) return 0.5 * (pixel_lo + pixel_hi);
  return pixel_lo + (v - lo) / (hi - lo) * (pixel_hi - pixel_lo);
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
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

std::string line_chart_svg(const LineChart& chart) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  double x_max = chart.x_min;
  for (const auto& series : chart.series) {
    for (const auto& p : series.points) {
      lo = std::min(lo, p.min);
      hi = std::max(hi, p.max);
      x_max = std::max(x_max, p.x);
    }
  }
  Frame f;
  std::ostringstream svg;
  open_svg(svg, f);
  if (!std::isfinite(lo)) return no_data_svg(svg, chart.title);
  const double pad = hi > lo ? 0.05 * (hi - lo) : 0.05 * std::max(1.0, std::abs(hi));
  Axis x{chart.x_min, std::max(x_max, chart.x_min + 1), double(f.left), double(f.width - f.right)};
  Axis y{lo - pad, hi + pad, double(f.height - f.bottom), double(f.top)};
  draw_title(svg, f, chart.title + (chart.log10_values ? " (log10)" : ""));
  draw_y_grid(svg, f, y);
  draw_x_tick_labels(svg, f, x, 6, chart.integer_x);
  draw_frame(svg, f);
  svg << "<text x='" << (f.left + f.width - f.right) / 2 << "' y='" << f.height - 6
      << "' class='xl'>" << escape_markup(chart.x_label) << "</text>";
  for (const auto& series : chart.series)
    if (!series.points.empty()) draw_spread_series(svg, series, x, y);
  svg << "</svg>";
  return svg.str();
}

std::string bar_chart_svg(const BarChart& chart) {
  Frame f;
  f.width = 420;
  std::ostringstream svg;
  open_svg(svg, f);
  if (chart.groups.empty()) return no_data_svg(svg, chart.title);
  double lo = chart.y_max;
  for (const auto& group : chart.groups)
    for (const auto& bar : group.bars)
      if (bar.present) lo = std::min(lo, bar.min);
  const double y_lo = std::max(0.0, std::floor((lo - 0.05) * 10.0) / 10.0);
  Axis y{y_lo, chart.y_max, double(f.height - f.bottom), double(f.top)};
  Axis x{0, double(chart.groups.size()), double(f.left), double(f.width - f.right)};
  draw_title(svg, f, chart.title);
  draw_y_grid(svg, f, y);
  const size_t series_count = std::max<size_t>(1, chart.series.size());
  const double group_width = (x.pixel_hi - x.pixel_lo) / double(chart.groups.size());
  const double bar_width = 0.7 * group_width / double(series_count);
  for (size_t g = 0; g < chart.groups.size(); ++g) {
    const BarGroup& group = chart.groups[g];
    const double gx = x.pixel_lo + g * group_width + 0.15 * group_width;
    svg << "<text x='" << x.pixel_lo + (g + 0.5) * group_width << "' y='"
        << f.height - f.bottom + 14 << "' class='xt'>" << escape_markup(group.label) << "</text>";
    for (size_t s = 0; s < group.bars.size() && s < chart.series.size(); ++s)
      if (group.bars[s].present)
        draw_bar(svg, group.bars[s], chart.series[s], group.label, gx + s * bar_width, bar_width,
                 y);
  }
  draw_frame(svg, f);
  svg << "</svg>";
  return svg.str();
}

std::string dot_strip_svg(const DotStrip& strip) {
  Frame f;
  f.width = 380;
  f.height = 90;
  f.top = 22;
  f.bottom = 30;
  std::ostringstream svg;
  open_svg(svg, f);
  double extent = 0;
  for (double d : strip.values)
    if (std::isfinite(d)) extent = std::max(extent, std::abs(d));
  if (extent == 0) extent = 1;
  Axis x{-1.1 * extent, 1.1 * extent, double(f.left), double(f.width - f.right)};
  svg << "<text x='" << f.left << "' y='14' class='ct'>" << escape_markup(strip.title) << "</text>";
  const double mid = 0.5 * (f.top + f.height - f.bottom);
  svg << "<line x1='" << x.map(0) << "' x2='" << x.map(0) << "' y1='" << f.top << "' y2='"
      << f.height - f.bottom << "' class='zero'/>";
  draw_x_tick_labels(svg, f, x, 4, false);
  for (double d : strip.values)
    svg << "<circle cx='" << x.map(d) << "' cy='" << mid << "' r='5' class='dot'/>";
  if (!strip.values.empty())
    svg << "<line x1='" << x.map(strip.marker) << "' x2='" << x.map(strip.marker) << "' y1='"
        << mid - 10 << "' y2='" << mid + 10 << "' class='mline'/>";
  svg << "</svg>";
  return svg.str();
}

}  // namespace sarseg::experiment::svg
