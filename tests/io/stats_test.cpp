#include "sarseg/io/stats.h"

#include <gtest/gtest.h>

#include <cmath>

#include "io_test_util.h"
#include "sarseg/io/quicklook.h"

namespace sarseg::io {
namespace {

TEST(Stats, BandStatisticsOverValidPixels) {
  FloatRaster pixels(2, 5);
  pixels.data = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1000};
  Raster<uint8_t> valid(2, 5, 1);
  valid.data[9] = 0;  // the outlier is not valid
  pixels.data[8] = std::nanf("");
  const auto stats = compute_band_statistics(pixels, valid, {0, 50, 100});
  EXPECT_EQ(stats.count, 8);  // 1..8
  EXPECT_DOUBLE_EQ(stats.mean, 4.5);
  EXPECT_NEAR(stats.std, std::sqrt(5.25), 1e-12);
  EXPECT_EQ(stats.min, 1);
  EXPECT_EQ(stats.max, 8);
  EXPECT_DOUBLE_EQ(stats.percentiles[0].second, 1);
  EXPECT_DOUBLE_EQ(stats.percentiles[1].second, 4.5);  // between 4 and 5
  EXPECT_DOUBLE_EQ(stats.percentiles[2].second, 8);
}

TEST(Stats, ClassHistogram) {
  LabelRaster labels(1, 5);
  labels.data = {0, 3, 3, 255, 3};
  const auto h = class_histogram(labels);
  EXPECT_EQ(h[0], 1);
  EXPECT_EQ(h[3], 3);
  EXPECT_EQ(h[255], 1);
}

TEST(Quicklook, ColoursClassesAndDrawsLegend) {
  LabelRaster labels(2, 2);
  labels.data = {0, 1, 255, 1};
  const Palette palette = palette_for_label("classes", 2);
  const RgbImage image = colour_class_map(labels, palette);
  ASSERT_EQ(image.width, 2);
  EXPECT_TRUE(std::equal(palette.colours[1].begin(), palette.colours[1].end(), &image.rgb[3]));
  EXPECT_TRUE(std::equal(palette.fill.begin(), palette.fill.end(), &image.rgb[6]));
  const RgbImage legend = legend_image(palette, "classes");
  EXPECT_GT(legend.width, text_width("255 no label"));
  // Text draws dark pixels on the white legend.
  int dark = 0;
  for (size_t i = 0; i < legend.rgb.size(); i += 3)
    dark += legend.rgb[i] == 0 && legend.rgb[i + 1] == 0 && legend.rgb[i + 2] == 0;
  EXPECT_GT(dark, 50);
  const Scene scene = test::make_scene(30, 40);
  const RgbImage quicklook = scene_quicklook(scene);
  EXPECT_GT(quicklook.width, 80);  // SAR panel + label map + legend
  EXPECT_EQ(quicklook.rgb.size(), static_cast<size_t>(quicklook.width * quicklook.height * 3));
}

}  // namespace
}  // namespace sarseg::io
