// Ensembles and Monte Carlo dropout in the tiler: averaged probabilities, predictive entropy and
// mutual information per pixel, across tile overlaps.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>

#include "sarseg/eval/uncertainty.h"
#include "sarseg/infer/inference.h"
#include "sarseg/models/model.h"
#include "sarseg/util/error.h"
#include "tiled_test_models.h"

namespace sarseg::infer {
namespace {

io::Scene random_scene(int64_t height, int64_t width, uint64_t seed) {
  io::Scene scene;
  scene.id = "random";
  scene.height = height;
  scene.width = width;
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const char* name : {"hh_db", "hv_db", "incidence_deg"}) {
    io::Band band{name, "zscore", io::FloatRaster(height, width)};
    for (auto& v : band.pixels.data)
      v = normal(rng);
    scene.bands.push_back(std::move(band));
  }
  scene.valid = io::Raster<uint8_t>(height, width, 1);
  scene.valid.at(3, 4) = 0;
  return scene;
}

data::Normalization identity_normalization() {
  data::Normalization n;
  n.bands = {"hh_db", "hv_db", "incidence_deg"};
  n.mean = {0, 0, 0};
  n.std = {1, 1, 1};
  return n;
}

using testing::conv_model;
using testing::small_tiles;

TEST(Ensemble, IdenticalMembersGiveTheSingleModelAndZeroMutualInformation) {
  torch::nn::Conv2d conv{nullptr};
  const TiledModel model = conv_model(conv, 5);
  const auto norm = identity_normalization();
  const auto scene = random_scene(70, 90, 1);
  const auto single =
      predict_tiled_ensemble({{&model, &norm}}, scene, {"classes"}, small_tiles(), true, true);
  const auto ensemble = predict_tiled_ensemble({{&model, &norm}, {&model, &norm}, {&model, &norm}},
                                               scene, {"classes"}, small_tiles(), true, true);
  ASSERT_GT(ensemble.tiles, 4);
  const auto& a = single.heads[0];
  const auto& b = ensemble.heads[0];
  EXPECT_EQ(b.members, 3);
  EXPECT_EQ(a.classes.data, b.classes.data);
  double entropy_sum = 0;
  int64_t valid = 0;
  for (size_t i = 0; i < b.entropy.data.size(); ++i) {
    if (!ensemble.valid.data[i]) {
      EXPECT_TRUE(std::isnan(b.entropy.data[i]));
      EXPECT_TRUE(std::isnan(b.mutual_information.data[i]));
      continue;
    }
    ++valid;
    EXPECT_NEAR(b.mutual_information.data[i], 0.0f, 1e-5f) << "pixel " << i;
    EXPECT_NEAR(b.entropy.data[i], a.entropy.data[i], 1e-5f) << "pixel " << i;
    entropy_sum += b.entropy.data[i];
  }
  EXPECT_EQ(valid, 70 * 90 - 1);
  EXPECT_GT(entropy_sum / static_cast<double>(valid), 0.05);  // uncertain, yet no disagreement
}

TEST(Ensemble, AveragesMembersAndMeasuresTheirDisagreement) {
  torch::nn::Conv2d conv_a{nullptr}, conv_b{nullptr};
  const TiledModel a = conv_model(conv_a, 5), b = conv_model(conv_b, 9);
  const auto norm = identity_normalization();
  const auto scene = random_scene(70, 90, 2);
  const auto options = small_tiles();
  const auto pa = predict_tiled_ensemble({{&a, &norm}}, scene, {"classes"}, options, true, true);
  const auto pb = predict_tiled_ensemble({{&b, &norm}}, scene, {"classes"}, options, true, true);
  const auto pe =
      predict_tiled_ensemble({{&a, &norm}, {&b, &norm}}, scene, {"classes"}, options, true, true);
  const auto& e = pe.heads[0];
  int64_t disagreeing = 0;
  for (size_t i = 0; i < e.entropy.data.size(); ++i) {
    if (!pe.valid.data[i]) continue;
    std::vector<std::vector<float>> members(2, std::vector<float>(4));
    for (size_t c = 0; c < 4; ++c) {
      const int mean =
          (pa.heads[0].probabilities[c].data[i] + pb.heads[0].probabilities[c].data[i]);
      // Each member's probability is rounded to 1/254, the mean once more.
      EXPECT_NEAR(2 * e.probabilities[c].data[i], mean, 2.0) << "pixel " << i;
      members[0][c] = pa.heads[0].probabilities[c].data[i] / 254.0f;
      members[1][c] = pb.heads[0].probabilities[c].data[i] / 254.0f;
    }
    // The tiler's figures agree with the per-pixel formulas on the members' outputs (within
    // their uint8 rounding).
    const auto expected = eval::pixel_uncertainty(members);
    EXPECT_NEAR(e.entropy.data[i], expected.entropy, 0.03) << "pixel " << i;
    EXPECT_NEAR(e.mutual_information.data[i], expected.mutual_information, 0.03) << "pixel " << i;
    EXPECT_GE(e.mutual_information.data[i], 0.0f);
    EXPECT_LE(e.mutual_information.data[i], e.entropy.data[i] + 1e-5f);
    disagreeing += e.mutual_information.data[i] > 0.05f ? 1 : 0;
  }
  EXPECT_GT(disagreeing, 500);
}

TEST(Ensemble, MembersMustPredictTheSameHeads) {
  torch::nn::Conv2d conv{nullptr};
  const TiledModel a = conv_model(conv, 5);
  TiledModel b = a;
  b.heads = {models::HeadSpec{"classes", 3, false}};
  const auto norm = identity_normalization();
  EXPECT_THROW(predict_tiled_ensemble({{&a, &norm}, {&b, &norm}}, random_scene(40, 40, 3),
                                      {"classes"}, small_tiles(), false, true),
               UserError);
}

TEST(Ensemble, TemperatureFlattensTheProbabilities) {
  torch::nn::Conv2d conv{nullptr};
  TiledModel model = conv_model(conv, 5);
  const auto norm = identity_normalization();
  const auto scene = random_scene(40, 40, 4);
  const auto sharp =
      predict_tiled_ensemble({{&model, &norm}}, scene, {"classes"}, small_tiles(), false, true);
  model.temperatures = {3.0};
  const auto flat =
      predict_tiled_ensemble({{&model, &norm}}, scene, {"classes"}, small_tiles(), false, true);
  EXPECT_EQ(sharp.heads[0].classes.data, flat.heads[0].classes.data);  // argmax unchanged
  double sharp_sum = 0, flat_sum = 0;
  for (size_t i = 0; i < sharp.heads[0].entropy.data.size(); ++i) {
    if (!sharp.valid.data[i]) continue;
    sharp_sum += sharp.heads[0].entropy.data[i];
    flat_sum += flat.heads[0].entropy.data[i];
  }
  EXPECT_GT(flat_sum, sharp_sum * 1.2);
}

models::ModelSpec dropout_model(const std::string& decoder) {
  models::ModelSpec spec;
  spec.encoder = "resnet18";
  spec.decoder = decoder;
  spec.aspp_channels = 16;
  spec.dropout = 0.5;
  spec.heads = {models::HeadSpec{"classes", 3, false}};
  return spec;
}

TEST(MonteCarloDropout, PassesDisagreeAndARunIsRepeatable) {
  torch::manual_seed(2);
  auto model = models::build_model(dropout_model("deeplabv3"));
  model->eval();
  InferenceOptions options;
  options.tile = 0;
  options.mc_dropout = 4;
  const ScenePredictor predictor(model, identity_normalization(), {"classes"}, options);
  EXPECT_GT(predictor.dropout_layers(), 0);
  const auto scene = random_scene(64, 64, 5);
  torch::manual_seed(77);
  const auto caller_draw = torch::rand({1}).item<float>();
  torch::manual_seed(77);
  const auto first = predictor.predict(scene, false, true);
  EXPECT_EQ(torch::rand({1}).item<float>(), caller_draw);  // the caller's random stream is kept
  const auto second = predictor.predict(scene, false, true);
  EXPECT_EQ(first.heads[0].members, 4);
  // The same dropout masks: the same figures up to the float rounding of threaded kernels.
  float worst = 0;
  for (size_t i = 0; i < first.heads[0].mutual_information.data.size(); ++i)
    if (first.valid.data[i])
      worst = std::max(worst, std::abs(first.heads[0].mutual_information.data[i] -
                                       second.heads[0].mutual_information.data[i]));
  EXPECT_LT(worst, 1e-5f);
  double information = 0;
  for (size_t i = 0; i < first.heads[0].mutual_information.data.size(); ++i)
    if (first.valid.data[i]) information += first.heads[0].mutual_information.data[i];
  EXPECT_GT(information, 0.0);
  for (const auto& module : model->modules())
    EXPECT_FALSE(module->is_training()) << module->name();  // dropout switched back off

  // Without Monte Carlo dropout the same model has no disagreement at all.
  const ScenePredictor deterministic(model, identity_normalization(), {"classes"}, [] {
    InferenceOptions o;
    o.tile = 0;
    return o;
  }());
  const auto plain = deterministic.predict(scene, false, true);
  for (size_t i = 0; i < plain.heads[0].mutual_information.data.size(); ++i)
    if (plain.valid.data[i]) {
      EXPECT_FLOAT_EQ(plain.heads[0].mutual_information.data[i], 0.0f);
    }
}

TEST(MonteCarloDropout, ModelWithoutDropoutIsAUserError) {
  const auto model = models::build_model(dropout_model("unet"));
  InferenceOptions options;
  options.mc_dropout = 4;
  try {
    ScenePredictor predictor(model, identity_normalization(), {"classes"}, options);
    FAIL() << "Monte Carlo dropout accepted a model without dropout";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no dropout layer"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sarseg::infer
