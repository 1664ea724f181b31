// Scenes at a coarser grid and predictions brought back (io/downsample.h), on small hand-computed
// blocks: dB averaged in linear intensity, other bands arithmetically, the majority label, the
// valid and labelled shares, a ragged edge, and the upsampling alignment on a known gradient.
#include "sarseg/io/downsample.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sarseg/util/error.h"

namespace sarseg::io {
namespace {

FloatRaster raster(int64_t h, int64_t w, std::vector<float> values) {
  FloatRaster r(h, w);
  r.data = std::move(values);
  return r;
}

LabelRaster labels(int64_t h, int64_t w, std::vector<uint8_t> values) {
  LabelRaster r(h, w);
  r.data = std::move(values);
  return r;
}

// A scene of h x w pixels with one dB band and one incidence band.
Scene scene_of(int64_t h, int64_t w, std::vector<float> db, std::vector<float> incidence) {
  Scene scene;
  scene.id = "blocks";
  scene.height = h;
  scene.width = w;
  scene.bands.push_back({"hh_db", "dB", raster(h, w, std::move(db))});
  scene.bands.push_back({"incidence_deg", "deg", raster(h, w, std::move(incidence))});
  return scene;
}

TEST(Downsample, DecibelsAreAveragedInLinearIntensity) {
  // One 2x2 block: 0, 10, 0, 10 dB. Linear 1, 10, 1, 10: mean 5.5, 10 log10(5.5) = 7.4036 dB.
  const Scene scene = scene_of(2, 2, {0, 10, 0, 10}, {30, 31, 32, 33});
  const Scene small = downsample_scene(scene, 2);
  ASSERT_EQ(small.height, 1);
  ASSERT_EQ(small.width, 1);
  EXPECT_NEAR(small.band("hh_db").pixels.at(0, 0), 7.4036, 1e-4);
  EXPECT_GT(small.band("hh_db").pixels.at(0, 0), 5.5f);  // not the mean of the dB values
  // The incidence angle is not an intensity: its arithmetic mean.
  EXPECT_FLOAT_EQ(small.band("incidence_deg").pixels.at(0, 0), 31.5f);
  EXPECT_EQ(small.band("hh_db").units, "dB");
}

TEST(Downsample, ZScoredBandsAreAveragedArithmetically) {
  Scene scene = scene_of(2, 2, {0, 10, 0, 10}, {0, 0, 0, 0});
  scene.bands[0].units = "zscore";
  EXPECT_FLOAT_EQ(downsample_scene(scene, 2).band("hh_db").pixels.at(0, 0), 5.0f);
}

TEST(Downsample, OnlyValidFinitePixelsEnterTheMean) {
  // Block of 4: pixel 1 masked, pixel 2 NaN in the dB band. Mask share 3/4: valid.
  Scene scene =
      scene_of(2, 2, {0, 20, std::numeric_limits<float>::quiet_NaN(), 10}, {30, 90, 34, 32});
  scene.valid = Raster<uint8_t>(2, 2, 1);
  scene.valid.at(0, 1) = 0;
  const Scene small = downsample_scene(scene, 2);
  EXPECT_NEAR(small.band("hh_db").pixels.at(0, 0), 10 * std::log10(5.5), 1e-4);  // 0 and 10 dB
  EXPECT_FLOAT_EQ(small.band("incidence_deg").pixels.at(0, 0), 32.0f);  // (30 + 34 + 32) / 3
  ASSERT_FALSE(small.valid.empty());
  EXPECT_EQ(small.valid.at(0, 0), 1);
}

TEST(Downsample, ABlockIsValidWhenHalfItsPixelsAre) {
  // Four 2x2 blocks with 2, 1, 0 and 4 valid pixels.
  Scene scene = scene_of(4, 4, std::vector<float>(16, 0.0f), std::vector<float>(16, 30.0f));
  scene.valid = Raster<uint8_t>(4, 4, 0);
  scene.valid.at(0, 0) = scene.valid.at(1, 1) = 1;  // block (0, 0): 2 of 4
  scene.valid.at(0, 2) = 1;                         // block (0, 1): 1 of 4
  for (int r = 2; r < 4; ++r)
    for (int c = 2; c < 4; ++c)
      scene.valid.at(r, c) = 1;  // block (1, 1): 4 of 4
  const Scene small = downsample_scene(scene, 2);
  EXPECT_EQ(small.valid.data, (std::vector<uint8_t>{1, 0, 0, 1}));
  EXPECT_TRUE(std::isnan(small.band("hh_db").pixels.at(1, 0)));  // no valid pixel at all
  // Share 0 (inference): any valid pixel makes the block valid.
  EXPECT_EQ(downsample_scene(scene, 2, 0.0).valid.data, (std::vector<uint8_t>{1, 1, 0, 1}));
}

TEST(Downsample, TheLabelIsTheMajorityTiesToTheSmallerValue) {
  Scene scene = scene_of(2, 6, std::vector<float>(12, 0.0f), std::vector<float>(12, 30.0f));
  // Blocks: {3, 3, 1, 255} -> 3; {2, 4, 4, 2} -> 2 (tie); {7, 255, 255, 255} -> 255 (1 of 4).
  scene.labels["SOD"] = labels(2, 6, {3, 3, 2, 4, 7, 255, 1, 255, 4, 2, 255, 255});
  const Scene small = downsample_scene(scene, 2);
  EXPECT_EQ(small.labels.at("SOD").data, (std::vector<uint8_t>{3, 2, kLabelFill}));
}

TEST(Downsample, HalfTheBlockLabelledKeepsTheLabel) {
  Scene scene = scene_of(2, 2, std::vector<float>(4, 0.0f), std::vector<float>(4, 30.0f));
  scene.labels["SIC"] = labels(2, 2, {5, 255, 255, 5});
  EXPECT_EQ(downsample_scene(scene, 2).labels.at("SIC").at(0, 0), 5);
}

TEST(Downsample, TheRaggedEdgeUsesThePixelsItHas) {
  // 3 x 5 at factor 2: a 2 x 3 grid; the last row of blocks has one row, the last column one
  // column of pixels.
  std::vector<float> incidence(15);
  for (int i = 0; i < 15; ++i)
    incidence[static_cast<size_t>(i)] = static_cast<float>(i);
  Scene scene = scene_of(3, 5, std::vector<float>(15, 0.0f), incidence);
  scene.labels["SOD"] = LabelRaster(3, 5, 1);
  scene.labels["SOD"].at(2, 4) = 4;  // the corner block holds only this pixel
  scene.geo = GeoReference{{100.0, 40.0, 0.0, 500.0, 0.0, -40.0}, "wkt"};
  scene.pixel_spacing_m = 40;
  const Scene small = downsample_scene(scene, 2);
  ASSERT_EQ(small.height, 2);
  ASSERT_EQ(small.width, 3);
  const auto& inc = small.band("incidence_deg").pixels;
  EXPECT_FLOAT_EQ(inc.at(0, 0), (0 + 1 + 5 + 6) / 4.0f);
  EXPECT_FLOAT_EQ(inc.at(0, 2), (4 + 9) / 2.0f);    // one column
  EXPECT_FLOAT_EQ(inc.at(1, 0), (10 + 11) / 2.0f);  // one row
  EXPECT_FLOAT_EQ(inc.at(1, 2), 14.0f);             // one pixel
  EXPECT_EQ(small.labels.at("SOD").at(1, 2), 4);
  EXPECT_DOUBLE_EQ(small.pixel_spacing_m, 80.0);
  ASSERT_TRUE(small.geo.has_value());
  EXPECT_DOUBLE_EQ(small.geo->transform[0], 100.0);  // the origin stays
  EXPECT_DOUBLE_EQ(small.geo->transform[1], 80.0);
  EXPECT_DOUBLE_EQ(small.geo->transform[5], -80.0);
  small.check_consistent();
}

TEST(Downsample, FactorOneIsACopyAndBelowOneIsRefused) {
  const Scene scene = scene_of(2, 2, {0, 10, 0, 10}, {30, 31, 32, 33});
  EXPECT_EQ(downsample_scene(scene, 1).band("hh_db").pixels.data, scene.bands[0].pixels.data);
  EXPECT_THROW(downsample_scene(scene, 0), UserError);
}

// A linear function of the native coordinate (pixel centres at integers).
double gradient(double row, double col) {
  return 2.0 + 0.25 * row - 0.125 * col;
}

TEST(Upsample, BilinearPutsCoarsePixelCentresAtTheirBlockCentres) {
  // Coarse pixel k of a factor-4 grid is centred at native (k + 0.5) 4 - 0.5 = 4k + 1.5; a grid
  // holding the gradient there gives the gradient back exactly between the outermost centres.
  const int64_t factor = 4, coarse_h = 3, coarse_w = 4, height = 12, width = 16;
  FloatRaster coarse(coarse_h, coarse_w);
  for (int64_t i = 0; i < coarse_h; ++i)
    for (int64_t j = 0; j < coarse_w; ++j)
      coarse.at(i, j) = static_cast<float>(gradient(4.0 * i + 1.5, 4.0 * j + 1.5));
  const FloatRaster up = upsample_bilinear(coarse, {}, factor, height, width);
  ASSERT_EQ(up.height, height);
  ASSERT_EQ(up.width, width);
  for (int64_t r = 2; r <= 9; ++r)
    for (int64_t c = 2; c <= 13; ++c)
      EXPECT_NEAR(up.at(r, c), gradient(r, c), 1e-5) << r << "," << c;
  // Beyond the outermost centres the edge value holds (clamped, no extrapolation).
  EXPECT_NEAR(up.at(0, 0), gradient(1.5, 1.5), 1e-5);
  EXPECT_THROW(upsample_bilinear(coarse, {}, factor, 13, 16), UserError);
}

TEST(Upsample, InvalidCoarsePixelsDoNotEnter) {
  FloatRaster coarse = raster(1, 2, {1.0f, 100.0f});
  Raster<uint8_t> valid(1, 2, 1);
  valid.at(0, 1) = 0;
  const FloatRaster up = upsample_bilinear(coarse, valid, 2, 2, 4);
  for (int64_t r = 0; r < 2; ++r) {
    // Columns 0..2 reach the valid pixel (column 2 at weight 0.25, renormalised to 1).
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_FLOAT_EQ(up.at(r, c), 1.0f) << r << "," << c;
    // Column 3 lies beyond the last centre: only the invalid block, so no value.
    EXPECT_TRUE(std::isnan(up.at(r, 3)));
  }
}

TEST(Upsample, TheClassMapIsTheArgmaxOfTheInterpolatedProbabilities) {
  // Two coarse pixels (factor 2): class 0 certain on the left, class 1 at 0.6 on the right.
  LabelPrediction coarse;
  coarse.label = "SOD";
  coarse.class_count = 2;
  coarse.classes = labels(1, 2, {0, 1});
  coarse.probabilities = {labels(1, 2, {254, 102}), labels(1, 2, {0, 152})};
  Raster<uint8_t> native_valid(2, 4, 1);
  native_valid.at(1, 3) = 0;
  const LabelPrediction up = upsample_prediction(coarse, {}, 2, native_valid, true);
  ASSERT_EQ(up.classes.height, 2);
  ASSERT_EQ(up.classes.width, 4);
  // Columns 0..3 sit at coarse x = -0.25, 0.25, 0.75, 1.25: weights of the right pixel 0, 0.25,
  // 0.75, 1. p1 = 0, 38, 114, 152 (of 254): the map turns to class 1 only at column 3, where
  // nearest upsampling of the class map would already have changed at column 2.
  EXPECT_EQ(up.classes.at(0, 0), 0);
  EXPECT_EQ(up.classes.at(0, 1), 0);
  EXPECT_EQ(up.classes.at(0, 2), 0);  // p0 = 0.25 254 + 0.75 102 = 140 > 114
  EXPECT_EQ(up.classes.at(0, 3), 1);
  EXPECT_EQ(up.classes.at(1, 3), kLabelFill);  // invalid native pixel
  ASSERT_EQ(up.probabilities.size(), 2u);
  EXPECT_EQ(up.probabilities[1].at(0, 1), 38);
  EXPECT_EQ(up.probabilities[0].at(0, 2), 140);
  EXPECT_EQ(up.probabilities[0].at(1, 3), kLabelFill);
}

TEST(Upsample, RegressionMapsTakeTheBlockValue) {
  LabelPrediction coarse;
  coarse.label = "SIC";
  coarse.regression = true;
  coarse.classes = labels(1, 2, {3, 9});
  const LabelPrediction up = upsample_prediction(coarse, {}, 2, Raster<uint8_t>(1, 3, 1), false);
  EXPECT_EQ(up.classes.data, (std::vector<uint8_t>{3, 3, 9}));
}

}  // namespace
}  // namespace sarseg::io
