// Bands derived at reading (io/derived_bands.h) are z-scores already: every normalisation method
// takes them as they are, the other bands get their statistics as before.
#include <gtest/gtest.h>

#include <cmath>

#include "sarseg/data/normalization.h"
#include "sarseg/io/derived_bands.h"
#include "sarseg/util/error.h"

using namespace sarseg;

namespace {

// hh_db varying in dB, month_sin constant (one month), both valid everywhere.
io::Scene month_scene(float hh_offset) {
  io::Scene scene;
  scene.id = "m";
  scene.height = 2;
  scene.width = 2;
  scene.bands.push_back({"hh_db", "dB", io::FloatRaster(2, 2)});
  scene.bands[0].pixels.data = {hh_offset - 1, hh_offset + 1, hh_offset - 1, hh_offset + 1};
  scene.acquisition_time = "2021-02-01T00:00:00Z";
  io::add_derived_bands(scene, {io::kMonthSinBand});
  return scene;
}

}  // namespace

TEST(DerivedNormalization, DerivedBandsAreTakenAsTheyAreByEveryMethod) {
  const io::Scene a = month_scene(-10), b = month_scene(-20);
  ASSERT_EQ(a.band("month_sin").units, "zscore");
  const std::vector<std::string> bands = {"hh_db", "month_sin"};
  const auto pooled = data::make_normalization(data::NormalizationMethod::kPooled, {&a, &b}, bands);
  EXPECT_EQ(pooled.bands, bands);
  EXPECT_DOUBLE_EQ(pooled.mean[0], -15.0);
  EXPECT_NEAR(pooled.std[0], std::sqrt(26.0), 1e-12);
  EXPECT_DOUBLE_EQ(pooled.mean[1], 0.0);
  EXPECT_DOUBLE_EQ(pooled.std[1], 1.0);
  EXPECT_EQ(pooled.units, (std::vector<std::string>{"dB", "zscore"}));

  // Per-scene stds of a constant band are 0: the scene average would refuse it otherwise.
  const auto average =
      data::make_normalization(data::NormalizationMethod::kSceneAverage, {&a, &b}, bands);
  EXPECT_DOUBLE_EQ(average.mean[0], -15.0);
  EXPECT_NEAR(average.std[0], 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(average.std[1], 1.0);

  const auto published =
      data::make_normalization(data::NormalizationMethod::kAi4Arctic, {&a, &b}, bands);
  EXPECT_NEAR(published.mean[0], -14.508, 1e-3);
  EXPECT_DOUBLE_EQ(published.mean[1], 0.0);

  // The store's path (per-scene sums) gives the same.
  const std::vector<std::vector<data::BandSums>> sums = {
      {data::band_sums(a, "hh_db"), data::band_sums(a, "month_sin")},
      {data::band_sums(b, "hh_db"), data::band_sums(b, "month_sin")}};
  const auto stored =
      data::make_normalization(data::NormalizationMethod::kPooled, sums, bands, {"dB", "zscore"});
  EXPECT_EQ(stored.mean, pooled.mean);
  EXPECT_EQ(stored.std, pooled.std);
}

TEST(DerivedNormalization, AConstantBandThatWasNotDerivedIsStillRefused) {
  io::Scene a = month_scene(-10), b = month_scene(-20);
  a.find_band("month_sin")->units = "raw";  // e.g. a GeoTIFF band of that name
  b.find_band("month_sin")->units = "raw";
  EXPECT_THROW(data::make_normalization(data::NormalizationMethod::kPooled, {&a, &b},
                                        {"hh_db", "month_sin"}),
               UserError);
}
