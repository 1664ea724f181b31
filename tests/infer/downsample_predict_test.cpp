// Prediction at data.downsample: a model recorded with factor 2 predicts the scene downsampled x2
// and its maps come back on the native grid (io/downsample.h), scored there pixel by pixel.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>

#include "sarseg/eval/scoring.h"
#include "sarseg/infer/inference.h"
#include "sarseg/io/downsample.h"
#include "sarseg/util/error.h"
#include "tiled_test_models.h"

namespace sarseg::infer {
namespace {

// 70 x 90 (odd-sized coarse grid at x2 is 35 x 45), random bands, a masked corner and labels
// with some pixels unlabelled.
io::Scene native_scene() {
  io::Scene scene;
  scene.id = "native";
  scene.height = 70;
  scene.width = 90;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const char* name : {"hh_db", "hv_db", "incidence_deg"}) {
    io::Band band{name, "zscore", io::FloatRaster(70, 90)};
    for (auto& v : band.pixels.data)
      v = normal(rng);
    scene.bands.push_back(std::move(band));
  }
  scene.valid = io::Raster<uint8_t>(70, 90, 1);
  for (int64_t r = 0; r < 9; ++r)
    for (int64_t c = 0; c < 13; ++c)
      scene.valid.at(r, c) = 0;
  io::LabelRaster truth(70, 90);
  for (int64_t r = 0; r < 70; ++r)
    for (int64_t c = 0; c < 90; ++c)
      truth.at(r, c) = r == 69 ? io::kLabelFill : static_cast<uint8_t>((r / 10 + c / 15) % 4);
  scene.labels["classes"] = truth;
  return scene;
}

data::Normalization normalization(int64_t downsample) {
  data::Normalization n;
  n.bands = {"hh_db", "hv_db", "incidence_deg"};
  n.mean = {0, 0, 0};
  n.std = {1, 1, 1};
  n.downsample = downsample;
  return n;
}

using testing::conv_model;
using testing::small_tiles;

TEST(DownsampledPrediction, IsMadeOnTheCoarseGridAndBroughtBackToTheNativeOne) {
  torch::nn::Conv2d conv{nullptr};
  const TiledModel model = conv_model(conv, 3);
  const io::Scene scene = native_scene();
  const auto x2 = normalization(2), x1 = normalization(1);
  const ScenePrediction prediction =
      predict_tiled(model, scene, x2, {"classes"}, small_tiles(), /*probabilities=*/true);
  ASSERT_EQ(prediction.heads.size(), 1u);
  const auto& head = prediction.heads.front();
  EXPECT_EQ(head.classes.height, 70);
  EXPECT_EQ(head.classes.width, 90);
  ASSERT_EQ(head.probabilities.size(), 4u);
  EXPECT_EQ(head.probabilities[3].width, 90);
  EXPECT_EQ(prediction.valid.data, scene.valid.data);  // the native input's validity

  // The same as predicting the x2 scene (a block with any valid pixel valid) and upsampling.
  const ScenePrediction coarse = predict_tiled(model, io::downsample_scene(scene, 2, 0.0), x1,
                                               {"classes"}, small_tiles(), true);
  EXPECT_EQ(coarse.heads.front().classes.width, 45);
  const io::LabelPrediction up =
      io::upsample_prediction(coarse.heads.front(), coarse.valid, 2, prediction.valid, true);
  EXPECT_EQ(head.classes.data, up.classes.data);
  EXPECT_EQ(head.probabilities[2].data, up.probabilities[2].data);
  // And not what the model gives on the native grid.
  const ScenePrediction native = predict_tiled(model, scene, x1, {"classes"}, small_tiles());
  EXPECT_NE(head.classes.data, native.heads.front().classes.data);
  // Without probabilities asked for, the same class map.
  const ScenePrediction maps_only = predict_tiled(model, scene, x2, {"classes"}, small_tiles());
  EXPECT_EQ(maps_only.heads.front().classes.data, head.classes.data);
  EXPECT_TRUE(maps_only.heads.front().probabilities.empty());
}

TEST(DownsampledPrediction, IsScoredOnTheNativeGrid) {
  torch::nn::Conv2d conv{nullptr};
  const TiledModel model = conv_model(conv, 3);
  const io::Scene scene = native_scene();
  const ScenePrediction prediction =
      predict_tiled(model, scene, normalization(2), {"classes"}, small_tiles());
  const eval::ScoringSpec scoring{{eval::HeadScoring{"classes", 4}}, -1};
  const auto confusions =
      eval::score_scene(scene, {&prediction.heads.front().classes}, prediction.valid, scoring);
  // Labelled valid native pixels: 69 labelled rows x 90 minus the 9 x 13 masked corner.
  EXPECT_EQ(confusions.front().total(), 69 * 90 - 9 * 13);
}

TEST(DownsampledPrediction, EnsembleMembersOfDifferentFactorsAreRefused) {
  torch::nn::Conv2d conv{nullptr};
  const TiledModel model = conv_model(conv, 3);
  const auto x1 = normalization(1), x2 = normalization(2);
  EXPECT_THROW(predict_tiled_ensemble({{&model, &x1}, {&model, &x2}}, native_scene(), {"classes"},
                                      small_tiles(), false, false),
               UserError);
}

TEST(DownsampledPrediction, TheFactorTravelsWithTheNormalisationRecord) {
  const auto x2 = data::normalization_from_json(data::normalization_to_json(normalization(2)), "t");
  EXPECT_EQ(x2.downsample, 2);
  // Records written before the factor existed are the native grid.
  const std::string old = R"({"bands":["hh_db"],"mean":[0],"std":[1],"source":"t"})";
  EXPECT_EQ(data::normalization_from_json(old, "t").downsample, 1);
  EXPECT_EQ(data::normalization_to_json(normalization(1)).find("downsample"), std::string::npos);
  const std::string bad = R"({"bands":["hh_db"],"mean":[0],"std":[1],"downsample":0})";
  EXPECT_THROW(data::normalization_from_json(bad, "t"), UserError);
}

}  // namespace
}  // namespace sarseg::infer
