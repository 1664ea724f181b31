// The SVG chart pieces on data small enough to place every point by hand.
#include "sarseg/experiment/svg_chart.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sarseg::experiment::svg {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(SvgChart, EscapesMarkup) {
  EXPECT_EQ(escape_markup("<a href='x'>&\"b\""), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;b&quot;");
  EXPECT_EQ(escape_markup("plain − text"), "plain − text");
}

TEST(SvgChart, AxisMapsLinearlyAndTicksAreNice) {
  const Axis axis{0.0, 10.0, 100.0, 300.0};
  EXPECT_DOUBLE_EQ(axis.map(0.0), 100.0);
  EXPECT_DOUBLE_EQ(axis.map(2.5), 150.0);
  EXPECT_DOUBLE_EQ(axis.map(10.0), 300.0);
  EXPECT_DOUBLE_EQ((Axis{3.0, 3.0, 100.0, 300.0}.map(7.0)), 200.0);  // empty range: the middle
  const std::vector<double> ticks = nice_ticks(0.38, 0.82);
  ASSERT_EQ(ticks.size(), 5u);
  for (size_t i = 0; i < ticks.size(); ++i)
    EXPECT_NEAR(ticks[i], 0.4 + 0.1 * static_cast<double>(i), 1e-12);
  EXPECT_EQ(nice_ticks(2.0, 2.0), std::vector<double>{2.0});
}

// Points x = 1, 3 with bands 0.4..0.6 and 0.6..0.8: the y axis spans 0.38..0.82 (5 % padding)
// on pixels 202..26, the x axis 1..3 on pixels 52..368.
TEST(SvgChart, LineChartPlacesMediansAndBandsWhereTheAxesSay) {
  LineChart chart;
  chart.title = "loss <a>";
  chart.x_label = "epoch";
  chart.integer_x = true;
  chart.x_min = 1;
  chart.series.push_back({"arm&1", "#123456", {{1, 0.5, 0.4, 0.6}, {3, 0.7, 0.6, 0.8}}});
  chart.series.push_back({"empty", "#654321", {}});
  const std::string svg = line_chart_svg(chart);
  EXPECT_EQ(svg.rfind("<svg xmlns='http://www.w3.org/2000/svg' width='380' height='240'", 0), 0u);
  EXPECT_TRUE(contains(svg, "<polyline points='52,154 368,74 ' fill='none' stroke='#123456'"))
      << svg;
  EXPECT_TRUE(contains(svg, "<polygon points='52,114 368,34 368,114 52,194 ' fill='#123456'"))
      << svg;
  EXPECT_TRUE(contains(svg, "data-arm='arm&amp;1'"));
  EXPECT_FALSE(contains(svg, "data-arm='empty'"));  // a series without points draws nothing
  EXPECT_TRUE(contains(svg, ">loss &lt;a&gt;</text>"));
  EXPECT_TRUE(contains(svg, "class='yt'>0.5</text>"));
  EXPECT_FALSE(contains(svg, "class='xt'>1.5</text>"));  // integer x ticks only
  EXPECT_TRUE(contains(svg, "class='xt'>2</text>"));
  EXPECT_FALSE(contains(svg, "<circle"));
  EXPECT_EQ(svg.substr(svg.size() - 6), "</svg>");

  chart.series = {{"one", "#000000", {{2, 0.5, 0.4, 0.6}}}};
  EXPECT_TRUE(contains(line_chart_svg(chart), "<circle"));  // a single point shows as a dot
  chart.series.clear();
  EXPECT_TRUE(contains(line_chart_svg(chart), ">loss &lt;a&gt;: no data</text></svg>"));
}

// One group, one bar at 0.8 with whiskers 0.7..0.9: the y axis starts at 0.6 (0.7 - 0.05 rounded
// down to 0.1) on pixel 202 and ends at 1 on pixel 26; the group spans pixels 52..408.
TEST(SvgChart, BarChartPlacesBarsAndWhiskersWhereTheAxesSay) {
  BarChart chart;
  chart.title = "F1";
  chart.series = {{"a", "#abcdef"}, {"b", "#fedcba"}};
  chart.groups = {{"melt", {{true, 0.8, 0.7, 0.9}, {}}}};
  const std::string svg = bar_chart_svg(chart);
  // Two series: bars 0.7 * 356 / 2 = 124.6 wide, the first at 52 + 0.15 * 356 = 105.4.
  EXPECT_TRUE(contains(svg, "<rect x='105.4' y='114' width='112.14' height='88' fill='#abcdef'"))
      << svg;
  EXPECT_TRUE(contains(svg, "<title>a melt: median 0.8000, min 0.7000, max 0.9000</title>"));
  const double cx = 105.4 + 124.6 * 0.45;  // 161.47
  EXPECT_TRUE(contains(svg, "<line x1='161.47' x2='161.47' y1='158' y2='70' class='whisker'/>"))
      << cx << "\n"
      << svg;
  EXPECT_FALSE(contains(svg, "fill='#fedcba'"));  // the missing bar is not drawn
  EXPECT_TRUE(contains(svg, "class='yt'>0.6</text>"));
  EXPECT_FALSE(contains(svg, "class='yt'>0.5</text>"));
  // The start is rounded down: a lowest whisker of 0.72 starts the axis at 0.6, not 0.7.
  chart.groups = {{"melt", {{true, 0.8, 0.72, 0.9}, {}}}};
  EXPECT_TRUE(contains(bar_chart_svg(chart), "class='yt'>0.6</text>"));
  chart.groups.clear();
  EXPECT_TRUE(contains(bar_chart_svg(chart), ">F1: no data</text></svg>"));
}

// Values -1 and 2: the axis spans -2.2..2.2 on pixels 52..368, zero at 210.
TEST(SvgChart, DotStripIsSymmetricAroundZero) {
  const std::string svg = dot_strip_svg({"a − b", {-1.0, 2.0}, 0.5});
  EXPECT_TRUE(contains(svg, "<line x1='210' x2='210' y1='22' y2='60' class='zero'/>")) << svg;
  EXPECT_TRUE(contains(svg, "<circle cx='138.182' cy='41' r='5' class='dot'/>"));
  EXPECT_TRUE(contains(svg, "<circle cx='353.636' cy='41' r='5' class='dot'/>"));
  EXPECT_TRUE(contains(svg, "<line x1='245.909' x2='245.909' y1='31' y2='51' class='mline'/>"));
  EXPECT_FALSE(contains(dot_strip_svg({"none", {}, 0.0}), "class='mline'"));
}

}  // namespace
}  // namespace sarseg::experiment::svg
