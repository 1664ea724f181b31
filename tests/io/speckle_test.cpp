// Speckle filters on hand-computed windows (the expected values were worked out by hand from the
// formulas in docs/speckle.md, in double precision), and their statistical properties on a
// homogeneous field with the simulator's gamma speckle.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sarseg/io/speckle.h"
#include "sarseg/synth/random.h"
#include "sarseg/util/error.h"

namespace sarseg::io {
namespace {

FloatRaster raster(int64_t h, int64_t w, std::vector<float> values) {
  FloatRaster r(h, w);
  r.data = std::move(values);
  return r;
}

// A 3x3 window: eight 1s around a 5. Mean 13/9, sample variance 16/9, Ci^2 = 144/169.
FloatRaster bright_centre() {
  return raster(3, 3, {1, 1, 1, 1, 5, 1, 1, 1, 1});
}

float centre(const FloatRaster& r) {
  return r.at(r.height / 2, r.width / 2);
}

TEST(SpeckleFilter, NoneLeavesTheBandAlone) {
  const FloatRaster in = bright_centre();
  EXPECT_EQ(filter_intensity(in, {}, {"none"}).data, in.data);
}

TEST(SpeckleFilter, BoxcarIsTheMeanOfTheWindowClippedAtTheBorder) {
  const FloatRaster in = raster(3, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const FloatRaster out = filter_intensity(in, {}, {"boxcar", 3});
  EXPECT_FLOAT_EQ(out.at(1, 1), 5.0f);
  EXPECT_FLOAT_EQ(out.at(0, 0), 3.0f);  // (1 + 2 + 4 + 5) / 4: no padding
  EXPECT_FLOAT_EQ(out.at(0, 1), 3.5f);  // (1 + 2 + 3 + 4 + 5 + 6) / 6
}

TEST(SpeckleFilter, LeeIsTheMinimumMeanSquareErrorEstimate) {
  // 4 looks: var_x = (16/9 - (13/9)^2 / 4) / 1.25, b = var_x / (16/9).
  const FloatRaster out = filter_intensity(bright_centre(), {}, {"lee", 3, 4.0});
  EXPECT_NEAR(centre(out), 3.454320988, 1e-5);
  // As many looks as to explain all the variation: the mean.
  const FloatRaster flat = filter_intensity(bright_centre(), {}, {"lee", 3, 1.0});
  EXPECT_NEAR(centre(flat), 13.0 / 9.0, 1e-5);
}

TEST(SpeckleFilter, EnhancedLeeBlendsBetweenTheMeanAndThePixel) {
  // Ci = 12/13 between Cu = 0.5 and Cmax = sqrt(1.5): w = exp(-(Ci - Cu) / (Cmax - Ci)).
  EXPECT_NEAR(centre(filter_intensity(bright_centre(), {}, {"enhanced_lee", 3, 4.0})), 4.125364153,
              1e-5);
  // Ci below Cu = 1 (one look): homogeneous, the mean.
  EXPECT_NEAR(centre(filter_intensity(bright_centre(), {}, {"enhanced_lee", 3, 1.0})), 13.0 / 9.0,
              1e-5);
  // A 20 among 1s: Ci = 2.04 above Cmax = sqrt(3) of one look, a point target, kept.
  const FloatRaster point = raster(3, 3, {1, 1, 1, 1, 20, 1, 1, 1, 1});
  EXPECT_FLOAT_EQ(centre(filter_intensity(point, {}, {"enhanced_lee", 3, 1.0})), 20.0f);
}

TEST(SpeckleFilter, FrostWeighsByDistanceAndVariation) {
  // a = 2 Ci^2; weights 1, exp(-a) (4 edge neighbours), exp(-a sqrt 2) (4 corners).
  EXPECT_NEAR(centre(filter_intensity(bright_centre(), {}, {"frost", 3})), 2.916656702, 1e-5);
}

TEST(SpeckleFilter, GammaMapSolvesTheMapQuadratic) {
  // 2 looks: Cu^2 = 0.5 < Ci^2 = 0.852 < 2 Cu^2; alpha = 1.5 / (Ci^2 - Cu^2).
  EXPECT_NEAR(centre(filter_intensity(bright_centre(), {}, {"gamma_map", 3, 2.0})), 2.067312311,
              1e-5);
  EXPECT_NEAR(centre(filter_intensity(bright_centre(), {}, {"gamma_map", 3, 1.0})), 13.0 / 9.0,
              1e-5);
  EXPECT_FLOAT_EQ(centre(filter_intensity(bright_centre(), {}, {"gamma_map", 3, 4.0})), 5.0f);
}

// 7x7: columns 0-2 are 1, columns 3-6 a checkerboard of 8 and 12 (centre 12).
FloatRaster vertical_edge() {
  FloatRaster r(7, 7, 1.0f);
  for (int y = 0; y < 7; ++y)
    for (int x = 3; x < 7; ++x)
      r.at(y, x) = (x + y) % 2 == 0 ? 8.0f : 12.0f;
  return r;
}

TEST(SpeckleFilter, RefinedLeeTakesTheSideOfTheEdgeTheCentreIsOn) {
  // Steepest gradient left-right; the centre's sub-area is closer to the right one, so the mask
  // is columns 3-6 (mean 10, variance 4 * 28/27); noise = mean of the five smallest sub-area
  // var/mean^2 = (0 + 0 + 0 + 2 * 1.11.../49) / 5 ... = 0.0185950.
  const FloatRaster out = filter_intensity(vertical_edge(), {}, {"refined_lee"});
  EXPECT_NEAR(out.at(3, 3), 8.916690814, 1e-4);
  // A Lee filter over the whole 7x7 window mixes the dark side in.
  EXPECT_LT(out.at(3, 3), 12.0f);
  EXPECT_GT(out.at(3, 3), 8.5f);
}

TEST(SpeckleFilter, RefinedLeeFindsADiagonalEdge) {
  // Upper-left of the anti-diagonal is 1, the rest a checkerboard: mask "lower right" (x+y >= 6).
  FloatRaster in(7, 7, 1.0f);
  for (int y = 0; y < 7; ++y)
    for (int x = 0; x < 7; ++x)
      if (x + y >= 6) in.at(y, x) = (x + y) % 2 == 0 ? 8.0f : 12.0f;
  EXPECT_NEAR(filter_intensity(in, {}, {"refined_lee"}).at(3, 3), 9.714285714, 1e-4);
}

TEST(SpeckleFilter, RefinedLeeIgnoresWindowAndLooks) {
  const FloatRaster a = filter_intensity(vertical_edge(), {}, {"refined_lee", 7, 16});
  const FloatRaster b = filter_intensity(vertical_edge(), {}, {"refined_lee", 3, 1});
  EXPECT_EQ(a.data, b.data);
}

TEST(SpeckleFilter, InvalidPixelsStayOutOfTheStatisticsAndPassThrough) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const FloatRaster in = raster(3, 3, {1, 2, 3, 4, 5, 6, 7, 8, nan});
  const FloatRaster out = filter_intensity(in, {}, {"boxcar", 3});
  EXPECT_FLOAT_EQ(out.at(1, 1), 36.0f / 8.0f);
  EXPECT_TRUE(std::isnan(out.at(2, 2)));
  // A mask-off pixel: kept as it was, and left out of its neighbours' means.
  Raster<uint8_t> valid(3, 3, 1);
  valid.at(1, 1) = 0;
  const FloatRaster masked =
      filter_intensity(raster(3, 3, {1, 1, 1, 1, 100, 1, 1, 1, 1}), valid, {"lee", 3, 4});
  EXPECT_FLOAT_EQ(masked.at(1, 1), 100.0f);
  EXPECT_FLOAT_EQ(masked.at(0, 0), 1.0f);
}

TEST(SpeckleFilter, DbBandsAreFilteredInLinearIntensity) {
  // dB of 1, 1, ..., 5: boxcar in linear gives 10 log10(13/9), not the mean of the dB values.
  FloatRaster db = bright_centre();
  for (auto& v : db.data)
    v = static_cast<float>(10.0 * std::log10(v));
  EXPECT_NEAR(centre(filter_db(db, {}, {"boxcar", 3})), 10.0 * std::log10(13.0 / 9.0), 1e-4);
}

TEST(SpeckleFilter, SceneFilteringTouchesOnlyDbBands) {
  Scene scene;
  scene.id = "s";
  scene.height = scene.width = 3;
  scene.bands.push_back({"hh_db", "dB", bright_centre()});
  scene.bands.push_back({"incidence_deg", "deg", bright_centre()});
  EXPECT_EQ(filter_scene_bands(scene, {"boxcar", 3}), 1);
  EXPECT_NE(scene.bands[0].pixels.data, bright_centre().data);
  EXPECT_EQ(scene.bands[1].pixels.data, bright_centre().data);
  scene.bands[0].units = "zscore";
  EXPECT_THROW(filter_scene_bands(scene, {"lee"}), UserError);
}

TEST(SpeckleFilter, UnknownNamesAndBadWindowsAreUserErrors) {
  try {
    check_speckle_filter({"median"}, "data.speckle_filter");
    FAIL() << "no error";
  } catch (const UserError& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("data.speckle_filter"), std::string::npos) << text;
    for (const auto& name : speckle_filter_names())
      EXPECT_NE(text.find(name), std::string::npos) << text;
  }
  EXPECT_THROW(check_speckle_filter({"lee", 4}, "x"), UserError);
  EXPECT_THROW(check_speckle_filter({"lee", 1}, "x"), UserError);
  EXPECT_THROW(check_speckle_filter({"gamma_map", 7, 0.0}, "x"), UserError);
  EXPECT_NO_THROW(check_speckle_filter({"refined_lee", 4, 0.0}, "x"));  // fixed window, no looks
}

TEST(SpeckleFilter, ThreadCountDoesNotChangeTheResult) {
  synth::Rng rng(7, "threads");
  FloatRaster in(61, 47);
  for (auto& v : in.data)
    v = static_cast<float>(rng.gamma(4.0) / 4.0);
  for (const auto& name : speckle_filter_names())
    EXPECT_EQ(filter_intensity(in, {}, {name, 5, 4}, 1).data,
              filter_intensity(in, {}, {name, 5, 4}, 3).data)
        << name;
}

// A homogeneous field with L-look gamma speckle, as the simulator draws it.
TEST(SpeckleFilter, HomogeneousFieldGainsLooksAndKeepsItsMean) {
  const double looks = 4.0;
  synth::Rng rng(11, "homogeneous");
  FloatRaster in(256, 256);
  for (auto& v : in.data)
    v = static_cast<float>(0.05 * rng.gamma(looks) / looks);
  const double enl_before = equivalent_looks(in, {});
  EXPECT_NEAR(enl_before, looks, 0.3);
  for (const auto& name : speckle_filter_names()) {
    if (name == "none") continue;
    const FloatRaster out = filter_intensity(in, {}, {name, 7, looks});
    // Away from the border (where windows are clipped).
    Raster<uint8_t> inner(256, 256, 0);
    for (int64_t r = 8; r < 248; ++r)
      for (int64_t c = 8; c < 248; ++c)
        inner.at(r, c) = 1;
    EXPECT_GT(equivalent_looks(out, inner), 3 * enl_before) << name;
    // The mean over the area is kept by the local-statistics filters; Gamma-MAP returns the
    // posterior's mode, not its mean, and reads low where it does not return the window mean.
    double sum_in = 0, sum_out = 0;
    for (size_t i = 0; i < in.data.size(); ++i)
      if (inner.data[i]) sum_in += in.data[i], sum_out += out.data[i];
    if (name == "gamma_map") {
      EXPECT_LT(sum_out / sum_in, 1.0);
      EXPECT_GT(sum_out / sum_in, 0.97);
    } else {
      EXPECT_NEAR(sum_out / sum_in, 1.0, 0.01) << name;
    }
    // The ratio image original / filtered: mean 1 for a filter that returns the local mean; the
    // adaptive filters keep part of each pixel's own speckle, which pulls it below 1 (by how
    // much is measured by `sarseg bench speckle`, bench/RESULTS.md).
    const double ratio = mean_ratio(in, out, inner);
    if (name == "boxcar") {
      EXPECT_NEAR(ratio, 1.0, 0.01);
    }
    EXPECT_GT(ratio, 0.9) << name;
    EXPECT_LT(ratio, 1.05) << name;
  }
}

}  // namespace
}  // namespace sarseg::io
