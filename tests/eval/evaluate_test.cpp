// Scoring predicted scenes against their labels.
#include <gtest/gtest.h>

#include "sarseg/eval/evaluate.h"
#include "sarseg/util/error.h"

namespace sarseg::eval {
namespace {

io::Scene labelled_scene() {
  io::Scene scene;
  scene.id = "s";
  scene.source_path = "/data/s.tif";
  scene.height = 2;
  scene.width = 3;
  scene.labels["SOD"] = io::LabelRaster(2, 3, 1);
  scene.labels["SOD"].at(0, 0) = io::kLabelFill;
  return scene;
}

ScenePrediction prediction_of(uint8_t value) {
  ScenePrediction p;
  HeadPrediction head;
  head.label = "SOD";
  head.classes = io::LabelRaster(2, 3, value);
  p.heads.push_back(head);
  p.valid = io::Raster<uint8_t>(2, 3, 1);
  p.valid.at(1, 2) = 0;  // invalid input
  return p;
}

TEST(ScoreScene, CountsLabelledValidPixels) {
  const auto cms =
      score_scene(labelled_scene(), prediction_of(1), {models::HeadSpec{"SOD", 6, false}});
  ASSERT_EQ(cms.size(), 1u);
  EXPECT_EQ(cms[0].num_classes(), 6);
  EXPECT_EQ(cms[0].total(), 4);  // 6 pixels - 1 unlabelled - 1 invalid
  EXPECT_EQ(cms[0].at(1, 1), 4);
}

TEST(ScoreScene, MissingLabelAndValuesBeyondClassesAreUserErrors) {
  auto scene = labelled_scene();
  scene.labels["SOD"].at(1, 1) = 7;
  try {
    score_scene(scene, prediction_of(1), {models::HeadSpec{"SOD", 6, false}});
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("value 7 at row 1, column 1"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("/data/s.tif"), std::string::npos) << e.what();
  }
  scene.labels.clear();
  scene.labels["SIC"] = io::LabelRaster(2, 3, 1);
  try {
    score_scene(scene, prediction_of(1), {models::HeadSpec{"SOD", 6, false}});
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no label 'SOD'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("SIC"), std::string::npos) << e.what();
  }
}

TEST(ScoreScene, SicRegressionHeadIsScoredOnElevenClasses) {
  EXPECT_EQ(head_class_count(models::HeadSpec{"SIC", 1, true}, "SIC"), 11);
  EXPECT_EQ(head_class_count(models::HeadSpec{"SOD", 6, false}, "SOD"), 6);
}

TEST(EvaluateSceneFiles, EmptyListAndMissingFilesAreUserErrors) {
  models::ModelSpec spec;
  spec.encoder = "mobilenet_v2";
  spec.decoder = "unet";
  spec.decoder_channels = {16, 16, 8, 8, 8};
  spec.heads = {models::HeadSpec{"SOD", 6, false}};
  data::Normalization n{{"hh_db", "hv_db", "incidence_deg"}, {0, 0, 0}, {1, 1, 1}, "test", {}};
  ScenePredictor predictor(models::build_model(spec), n, {"SOD"});
  EXPECT_THROW(evaluate_scene_files(predictor, {}), UserError);
  EXPECT_THROW(evaluate_scene_files(predictor, {"/no/such/scene.nc"}), UserError);
}

}  // namespace
}  // namespace sarseg::eval
