// The two-view SAR augmentations of self-supervised pretraining (data/sar_views.h).
#include <gtest/gtest.h>

#include <cmath>

#include "sarseg/data/sar_views.h"
#include "test_scenes.h"

using namespace sarseg;

namespace {

// Bands: "hh_db" (dB, a field that varies in both directions), "twin" (2 x hh_db: after
// normalisation the same plane, so any geometric step that treats channels alike keeps them
// equal) and "incidence_deg" (degrees, rising across the columns).
io::Scene sar_scene(int64_t n) {
  io::Scene scene;
  scene.id = "sar";
  scene.height = n;
  scene.width = n;
  io::Band hh{"hh_db", "dB", io::FloatRaster(n, n)};
  io::Band twin{"twin", "unit", io::FloatRaster(n, n)};
  io::Band incidence{"incidence_deg", "deg", io::FloatRaster(n, n)};
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < n; ++c) {
      const float v = static_cast<float>(-20.0 + 3.0 * std::sin(0.37 * r) + 0.05 * c * c / n);
      hh.pixels.at(r, c) = v;
      twin.pixels.at(r, c) = 2.0f * v;
      incidence.pixels.at(r, c) = static_cast<float>(20.0 + 25.0 * c / double(n));
    }
  scene.bands = {hh, twin, incidence};
  return scene;
}

struct Fixture {
  io::Scene scene;
  data::Normalization norm;
  data::PreparedScene prepared;
  std::vector<data::RadiometricChannel> channels;
};

Fixture make_fixture(int64_t n = 48) {
  Fixture f;
  f.scene = sar_scene(n);
  f.norm = data::compute_normalization({&f.scene}, {"hh_db", "twin", "incidence_deg"},
                                       data::NormalizationMethod::kPooled);
  f.prepared = data::prepare_scene(f.scene, f.norm, {}, -1);
  f.channels = data::radiometric_channels(f.norm);
  return f;
}

const float* plane(const data::Patch& p, int64_t c) {
  return p.input.data() + static_cast<size_t>(c * p.size * p.size);
}

}  // namespace

TEST(SarViews, OnlyTheDbBandsAreBackscatter) {
  const auto f = make_fixture();
  ASSERT_EQ(f.channels.size(), 3u);
  EXPECT_TRUE(f.channels[0].db);
  EXPECT_FALSE(f.channels[1].db);
  EXPECT_FALSE(f.channels[2].db);
  EXPECT_NEAR(f.channels[0].std, f.norm.std[0], 1e-12);
  // Without recorded units the name decides.
  data::Normalization bare{{"hv_db", "incidence_deg"}, {0, 0}, {1, 1}, "t", {}};
  const auto named = data::radiometric_channels(bare);
  EXPECT_TRUE(named[0].db);
  EXPECT_FALSE(named[1].db);
}

TEST(SarViews, ShapesAndOneGeometryForEveryChannel) {
  const auto f = make_fixture();
  data::SarViewOptions options;
  options.view_size = 32;
  options.gain_db = 0;
  options.speckle_looks = 0;
  const auto plain = data::make_plain_view(f.prepared, 4, 6, 40, 32);
  int differing = 0;
  for (uint64_t seed = 0; seed < 24; ++seed) {
    data::Rng rng(seed);
    const auto view = data::make_sar_view(f.prepared, 4, 6, 40, options, f.channels, rng);
    ASSERT_EQ(view.size, 32);
    ASSERT_EQ(view.channels, 3);
    ASSERT_EQ(view.input.size(), 3u * 32 * 32);
    EXPECT_TRUE(view.labels.empty());
    bool same_as_plain = true;
    for (int64_t i = 0; i < 32 * 32; ++i) {
      ASSERT_TRUE(std::isfinite(plane(view, 0)[i]));
      // hh and its twin went through the same crop, resampling, flip and rotation.
      ASSERT_NEAR(plane(view, 0)[i], plane(view, 1)[i], 1e-4) << "seed " << seed << " pixel " << i;
      same_as_plain = same_as_plain && std::abs(plane(view, 0)[i] - plane(plain, 0)[i]) < 1e-6;
    }
    differing += same_as_plain ? 0 : 1;
  }
  // The views are augmented at all (the equality above is not that of untouched copies).
  EXPECT_GT(differing, 20);
}

TEST(SarViews, RotationsMoveTheIncidenceAngleWithThePixels) {
  // A quarter turn makes the incidence ramp run along the rows: the angle stays with its pixel.
  const auto f = make_fixture(32);
  data::SarViewOptions options;
  options.view_size = 32;
  options.min_crop_fraction = 1.0;
  options.flips = false;
  options.gain_db = 0;
  options.speckle_looks = 0;
  bool saw_turn = false;
  for (uint64_t seed = 0; seed < 16 && !saw_turn; ++seed) {
    data::Rng rng(seed);
    const auto view = data::make_sar_view(f.prepared, 0, 0, 32, options, f.channels, rng);
    const float* inc = plane(view, 2);
    const bool varies_along_rows =
        std::abs(inc[0] - inc[31 * 32]) > 1.0f && std::abs(inc[0] - inc[31]) < 1e-5f;
    if (!varies_along_rows) continue;
    saw_turn = true;
    // Every channel, backscatter and incidence angle alike, is the original turned by the same
    // quarter turns (1 or 3).
    bool matches_a_turn = false;
    for (int turns : {1, 3}) {
      auto turned = data::make_plain_view(f.prepared, 0, 0, 32, 32);
      data::flip_rotate(turned, false, false, turns);
      matches_a_turn = matches_a_turn || turned.input == view.input;
    }
    EXPECT_TRUE(matches_a_turn) << "seed " << seed;
  }
  EXPECT_TRUE(saw_turn);
}

TEST(SarViews, GainShiftsOnlyTheDbBandsByOneConstant) {
  const auto f = make_fixture();
  data::SarViewOptions options;
  options.view_size = 40;
  options.min_crop_fraction = 1.0;
  options.flips = false;
  options.rot90 = false;
  options.gain_db = 3.0;
  options.speckle_looks = 0;
  const auto plain = data::make_plain_view(f.prepared, 2, 2, 40, 40);
  data::Rng rng(7);
  const auto view = data::make_sar_view(f.prepared, 2, 2, 40, options, f.channels, rng);
  const double shift = (plane(view, 0)[0] - plane(plain, 0)[0]) * f.channels[0].std;
  EXPECT_LE(std::abs(shift), 3.0 + 1e-4);
  EXPECT_GT(std::abs(shift), 1e-3);
  for (int64_t i = 0; i < 40 * 40; ++i) {
    EXPECT_NEAR((plane(view, 0)[i] - plane(plain, 0)[i]) * f.channels[0].std, shift, 1e-3);
    EXPECT_EQ(plane(view, 1)[i], plane(plain, 1)[i]);  // not a dB band
    EXPECT_EQ(plane(view, 2)[i], plane(plain, 2)[i]);  // incidence angle
  }
}

TEST(SarViews, SpeckleIsGammaNoiseOnLinearIntensity) {
  const auto f = make_fixture(64);
  for (double looks : {1.0, 4.0}) {
    data::SarViewOptions options;
    options.view_size = 64;
    options.min_crop_fraction = 1.0;
    options.flips = false;
    options.rot90 = false;
    options.gain_db = 0;
    options.speckle_looks = looks;
    const auto plain = data::make_plain_view(f.prepared, 0, 0, 64, 64);
    data::Rng rng(11);
    const auto view = data::make_sar_view(f.prepared, 0, 0, 64, options, f.channels, rng);
    double sum = 0, sum2 = 0;
    const int64_t n = 64 * 64;
    for (int64_t i = 0; i < n; ++i) {
      const double db = (plane(view, 0)[i] - plane(plain, 0)[i]) * f.channels[0].std;
      const double ratio = std::pow(10.0, db / 10.0);  // the linear-intensity factor
      sum += ratio;
      sum2 += ratio * ratio;
      EXPECT_EQ(plane(view, 2)[i], plane(plain, 2)[i]);
    }
    const double mean = sum / n;
    const double variance = sum2 / n - mean * mean;
    // Gamma(L, 1/L): mean 1, variance 1/L (4096 draws: a few standard errors).
    EXPECT_NEAR(mean, 1.0, 4.0 * std::sqrt(1.0 / looks / n)) << looks;
    EXPECT_NEAR(variance, 1.0 / looks, 0.15 / looks) << looks;
  }
}

TEST(SarViews, GammaDrawsHaveUnitMeanAndVarianceOneOverShape) {
  for (double shape : {0.5, 1.0, 4.0, 10.0}) {
    data::Rng rng(3);
    double sum = 0, sum2 = 0;
    const int n = 40000;
    for (int i = 0; i < n; ++i) {
      const double g = data::gamma_unit_mean(shape, rng);
      ASSERT_GT(g, 0.0);
      sum += g;
      sum2 += g * g;
    }
    const double mean = sum / n;
    EXPECT_NEAR(mean, 1.0, 0.03) << shape;
    EXPECT_NEAR(sum2 / n - mean * mean, 1.0 / shape, 0.08 / shape) << shape;
  }
}

TEST(SarViews, InvalidPixelsKeepTheirFill) {
  auto f = make_fixture(32);
  f.scene.valid = io::Raster<uint8_t>(32, 32);
  for (int64_t r = 0; r < 32; ++r)
    for (int64_t c = 0; c < 32; ++c)
      f.scene.valid.at(r, c) = c < 16 ? 1 : 0;
  const auto prepared = data::prepare_scene(f.scene, f.norm, {}, -1);
  data::SarViewOptions options;
  options.view_size = 32;
  options.min_crop_fraction = 1.0;
  options.flips = false;
  options.rot90 = false;
  data::Rng rng(5);
  const auto view = data::make_sar_view(prepared, 0, 0, 32, options, f.channels, rng);
  for (int64_t r = 0; r < 32; ++r)
    for (int64_t c = 16; c < 32; ++c)
      EXPECT_EQ(plane(view, 0)[r * 32 + c], 0.0f);
  EXPECT_NE(plane(view, 0)[0], prepared.input[0]);  // valid pixels did get speckle
}
