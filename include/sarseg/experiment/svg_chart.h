// Small self-contained SVG charts for the experiment report: a line chart with spread bands, a
// grouped bar chart with min-max whiskers and a dot strip, plus the axis, tick and escaping
// helpers they share. Each chart is one <svg> element; its look comes from the CSS classes in
// chart_css(), which the page embedding the charts must include.
#pragma once

#include <string>
#include <vector>

namespace sarseg::experiment::svg {

// `text` with & < > " ' escaped, safe inside HTML / SVG text and quoted attributes.
std::string escape_markup(const std::string& text);

// `v` with `decimals` digits after the point, or "n/a" when it is not finite.
std::string format_fixed(double v, int decimals);
// The same with the sign always written ("+0.0123"), for differences.
std::string format_signed(double v, int decimals);

// The stylesheet rules of the chart classes (titles, ticks, grid, frame, whiskers, dots).
const char* chart_css();

// Colour of the `index`-th series (a fixed, colour-blind-friendly palette that repeats).
const std::string& series_colour(size_t index);

// Maps data values [lo, hi] linearly onto pixels [pixel_lo, pixel_hi] (the middle when lo = hi).
struct Axis {
  double lo = 0, hi = 1;
  double pixel_lo = 0, pixel_hi = 1;
  double map(double v) const;
};

// "Nice" tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering [lo, hi], about
// `target` of them; just lo when the range is empty.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

// ---- line chart with spread bands -------------------------------------------------------------

struct SpreadPoint {
  double x = 0;
  double median = 0, min = 0, max = 0;
};

struct SpreadSeries {
  std::string name;  // data-arm attribute of its elements
  std::string colour;
  std::vector<SpreadPoint> points;  // in increasing x
};

// Each series as a median line over a min-max band (a dot when it has one point). The x axis
// starts at x_min and spans at least one unit; the y axis covers every band with 5 % padding.
struct LineChart {
  std::string title;
  std::string x_label;
  bool integer_x = false;     // label integer x ticks only
  bool log10_values = false;  // the values are log10 of the data: the title says so
  double x_min = 0;
  std::vector<SpreadSeries> series;
};
std::string line_chart_svg(const LineChart& chart);

// ---- grouped bar chart with min-max whiskers ---------------------------------------------------

struct Bar {
  bool present = false;  // false: no bar at this place
  double median = 0, min = 0, max = 0;
};

struct BarGroup {
  std::string label;
  std::vector<Bar> bars;  // one per series (missing ones: no bar)
};

struct BarSeries {
  std::string name;  // data-arm attribute and tooltip of its bars
  std::string colour;
};

// One group of bars per entry in `groups`, a bar per series at its median with a whisker from
// min to max. The y axis ends at y_max and starts a little below the lowest whisker (rounded down
// to 0.1, not below 0) so that differences show; its labels make the offset explicit.
struct BarChart {
  std::string title;
  double y_max = 1.0;
  std::vector<BarSeries> series;
  std::vector<BarGroup> groups;
};
std::string bar_chart_svg(const BarChart& chart);

// ---- dot strip ---------------------------------------------------------------------------------

// The values as dots on a horizontal axis symmetric around a dashed zero line, with a marker line
// at `marker` (when there are values).
struct DotStrip {
  std::string title;
  std::vector<double> values;
  double marker = 0;
};
std::string dot_strip_svg(const DotStrip& strip);

}  // namespace sarseg::experiment::svg
