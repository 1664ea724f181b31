#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sarseg/data/dataset.h"
#include "sarseg/data/normalization.h"
#include "sarseg/data/scene_input.h"
#include "sarseg/util/error.h"
#include "test_scenes.h"

using namespace sarseg;

namespace {

io::Scene constant_scene(float value_a, float value_b, int64_t n) {
  auto scene = sarseg::testing::make_ramp_scene(n, n);
  for (auto& v : scene.bands[0].pixels.data)
    v = value_a;
  for (auto& v : scene.bands[1].pixels.data)
    v = value_b;
  return scene;
}

}  // namespace

TEST(Normalization, PooledAndSceneAverageByHand) {
  // Scene 1: band a = {0, 2} (2 pixels); scene 2: band a = {10, 10, 10, 10, 10, 10, 10, 10}.
  io::Scene s1 = constant_scene(0, 1, 1), s2 = constant_scene(10, 1, 1);
  s1.height = 1;
  s1.width = 2;
  s1.bands[0].pixels = io::FloatRaster(1, 2);
  s1.bands[0].pixels.data = {0.f, 2.f};
  s1.bands[1].pixels = io::FloatRaster(1, 2, 1.f);
  s1.labels["L"] = io::LabelRaster(1, 2, 0);
  s2 = constant_scene(10, 3, 1);
  s2.height = 2;
  s2.width = 4;
  s2.bands[0].pixels = io::FloatRaster(2, 4, 10.f);
  s2.bands[1].pixels = io::FloatRaster(2, 4, 3.f);
  s2.labels["L"] = io::LabelRaster(2, 4, 0);

  const auto pooled =
      data::compute_normalization({&s1, &s2}, {"a"}, data::NormalizationMethod::kPooled);
  // Pooled: values {0, 2, 10 x8}: mean 82/10 = 8.2, var = (0+4+800)/10 - 8.2^2 = 80.4 - 67.24.
  EXPECT_NEAR(pooled.mean[0], 8.2, 1e-9);
  EXPECT_NEAR(pooled.std[0], std::sqrt(80.4 - 67.24), 1e-9);
  const auto average =
      data::compute_normalization({&s1, &s2}, {"a"}, data::NormalizationMethod::kSceneAverage);
  // Per scene: (mean 1, std 1) and (10, 0): averages 5.5 and 0.5.
  EXPECT_NEAR(average.mean[0], 5.5, 1e-9);
  EXPECT_NEAR(average.std[0], 0.5, 1e-9);
}

TEST(Normalization, InvalidAndNanPixelsAreExcluded) {
  auto scene = sarseg::testing::make_ramp_scene(1, 4);
  scene.bands[0].pixels.data = {1.f, 3.f, 1000.f, std::numeric_limits<float>::quiet_NaN()};
  scene.valid = io::Raster<uint8_t>(1, 4, 1);
  scene.valid.data[2] = 0;
  const auto norm =
      data::compute_normalization({&scene}, {"a"}, data::NormalizationMethod::kPooled);
  EXPECT_NEAR(norm.mean[0], 2.0, 1e-9);
  EXPECT_NEAR(norm.std[0], 1.0, 1e-9);
}

TEST(Normalization, ConstantBandAndMissingBandAreUserErrors) {
  auto scene = constant_scene(5, 5, 4);
  EXPECT_THROW(data::compute_normalization({&scene}, {"a"}, data::NormalizationMethod::kPooled),
               UserError);
  EXPECT_THROW(data::compute_normalization({&scene}, {"zz"}, data::NormalizationMethod::kPooled),
               UserError);
}

TEST(Normalization, Ai4ArcticPublishedValuesAndJsonRoundTrip) {
  const auto norm = data::ai4arctic_normalization({"hh_db", "hv_db", "incidence_deg"});
  EXPECT_NEAR(norm.mean[0], -14.508, 1e-3);
  EXPECT_NEAR(norm.std[1], 4.747, 1e-3);
  EXPECT_NEAR(norm.mean[2], 33.998, 1e-3);
  EXPECT_THROW(data::ai4arctic_normalization({"hh_db", "speckle"}), UserError);
  const auto back = data::normalization_from_json(data::normalization_to_json(norm), "test");
  EXPECT_EQ(back.bands, norm.bands);
  EXPECT_EQ(back.mean, norm.mean);
  EXPECT_EQ(back.std, norm.std);
  EXPECT_EQ(back.source, norm.source);
  EXPECT_THROW(data::normalization_from_json("{\"bands\": 3}", "test"), UserError);
}

// The units of the training scenes' bands travel with the statistics (and through JSON, into the
// checkpoint), so that inference can read scenes in the same units.
TEST(Normalization, RecordsTheBandUnitsOfTheTrainingScenes) {
  auto scene = constant_scene(0, 1, 2);
  scene.bands[0].pixels.data[0] = 5.f;
  scene.bands[1].pixels.data[0] = 3.f;
  scene.bands[0].units = "dB";
  scene.bands[1].units = "zscore";
  for (auto method : {data::NormalizationMethod::kPooled, data::NormalizationMethod::kNone}) {
    const auto norm = data::make_normalization(method, {&scene}, {"b", "a"});
    EXPECT_EQ(norm.units, (std::vector<std::string>{"zscore", "dB"}));
    EXPECT_TRUE(data::wants_physical_units(norm));
    const auto back = data::normalization_from_json(data::normalization_to_json(norm), "test");
    EXPECT_EQ(back.units, norm.units);
  }
  data::Normalization zscores{{"a"}, {0.0}, {1.0}, "t", {"zscore"}};
  EXPECT_FALSE(data::wants_physical_units(zscores));
  zscores.units.clear();
  EXPECT_FALSE(data::wants_physical_units(zscores));
  EXPECT_THROW(data::normalization_from_json(
                   R"({"bands": ["a", "b"], "mean": [0, 0], "std": [1, 1], "units": ["dB"]})", "t"),
               UserError);
}

TEST(SceneInput, NormalisesAndZeroesInvalidPixels) {
  auto scene = sarseg::testing::make_ramp_scene(2, 3);
  scene.valid = io::Raster<uint8_t>(2, 3, 1);
  scene.valid.at(0, 1) = 0;
  scene.bands[1].pixels.at(1, 2) = std::numeric_limits<float>::infinity();
  data::Normalization norm{{"b", "a"}, {1.0, 100.0}, {2.0, 50.0}, "test", {}};
  const auto in = data::scene_to_input(scene, norm);
  ASSERT_EQ(in.input.sizes(), (std::vector<int64_t>{2, 2, 3}));
  // Channel 0 is band b = -col: (-2 - 1) / 2 at (0, 2).
  EXPECT_FLOAT_EQ(in.input[0][0][2].item<float>(), -1.5f);
  // Channel 1 is band a = row*100+col: (102 - 100) / 50 at (1, 0)... (1,0) = 100 -> 0.
  EXPECT_FLOAT_EQ(in.input[1][1][1].item<float>(), (101.f - 100.f) / 50.f);
  EXPECT_FALSE(in.valid[0][1].item<bool>());
  EXPECT_FALSE(in.valid[1][2].item<bool>());
  EXPECT_TRUE(in.valid[0][0].item<bool>());
  EXPECT_EQ(in.input[0][0][1].item<float>(), 0.f);
  EXPECT_EQ(in.input[1][1][2].item<float>(), 0.f);
  data::Normalization missing{{"hh_db"}, {0.0}, {1.0}, "test", {}};
  EXPECT_THROW(data::scene_to_input(scene, missing), UserError);
}

TEST(PrepareScene, TargetsIgnoreInvalidInputAndIgnoreLabel) {
  auto scene = sarseg::testing::make_ramp_scene(2, 2, 3);  // labels (r+c)%3: 0 1 / 1 2
  scene.valid = io::Raster<uint8_t>(2, 2, 1);
  scene.valid.at(0, 0) = 0;
  data::Normalization norm{{"a"}, {0.0}, {1.0}, "t", {}};
  data::TaskSpec task{"L", 3, false, 1.0};
  const auto prepared = data::prepare_scene(scene, norm, {task}, /*ignore_label=*/2);
  EXPECT_EQ(prepared.targets[0], (std::vector<uint8_t>{255, 1, 1, 255}));
  EXPECT_EQ(prepared.input[0], 0.f);    // invalid -> 0
  EXPECT_EQ(prepared.input[3], 101.f);  // normalised with mean 0, std 1
  EXPECT_EQ(prepared.sample_valid.count(0, 0, 2, 2), 2);
}

TEST(CheckScenes, NamesSceneBandLabelAndValue) {
  auto scene = sarseg::testing::make_ramp_scene(4, 4, 5);
  scene.source_path = "/data/s1.nc";
  data::TaskSpec task{"L", 3, false, 1.0};
  try {
    data::check_scenes({scene}, {"a"}, {task}, -1, "data.train");
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("/data/s1.nc"), std::string::npos);
    EXPECT_NE(message.find("value 3"), std::string::npos);
    EXPECT_NE(message.find("data.tasks"), std::string::npos);
  }
  task.classes = 5;
  EXPECT_NO_THROW(data::check_scenes({scene}, {"a", "b"}, {task}, -1, "data.train"));
  EXPECT_THROW(data::check_scenes({scene}, {"a", "hh_db"}, {task}, -1, "data.train"), UserError);
  task.label = "SOD";
  EXPECT_THROW(data::check_scenes({scene}, {"a"}, {task}, -1, "data.train"), UserError);
}

// With a speckle filter in the normalisation, SceneNormalizer (inference's input) filters the dB
// bands itself, and gives what training gives: the scene filtered once, then prepared.
TEST(Normalization, SpeckleFilterIsPartOfTheInput) {
  auto scene = sarseg::testing::make_ramp_scene(24, 20);
  for (auto& v : scene.bands[0].pixels.data)
    v = static_cast<float>(
        -15.0 + 3.0 * std::sin(0.7 * static_cast<double>(&v - &scene.bands[0].pixels.data[0])));
  scene.bands[1].units = "deg";  // not backscatter: never filtered
  data::Normalization norm =
      data::make_normalization(data::NormalizationMethod::kNone, {&scene}, {"a", "b"});
  const data::Normalization plain = norm;
  norm.speckle = {"lee", 5, 4.0};

  const auto inference = data::scene_to_input(scene, norm);
  const auto unfiltered = data::scene_to_input(scene, plain);
  io::Scene filtered = scene;
  ASSERT_EQ(io::filter_scene_bands(filtered, norm.speckle), 1);
  const auto training = data::scene_to_input(filtered, plain);
  EXPECT_TRUE(inference.input.equal(training.input));
  EXPECT_FALSE(inference.input[0].equal(unfiltered.input[0]));
  EXPECT_TRUE(inference.input[1].equal(unfiltered.input[1]));

  // Recorded with the normalisation (and only when set).
  const auto back = data::normalization_from_json(data::normalization_to_json(norm), "test");
  EXPECT_EQ(back.speckle, norm.speckle);
  EXPECT_EQ(data::normalization_to_json(plain).find("speckle"), std::string::npos);
  EXPECT_EQ(data::speckle_filtered({scene}, {}).size(), 0u);
}
