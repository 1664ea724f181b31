// Predicting and scoring scene files.
#include <gtest/gtest.h>

#include "sarseg/infer/evaluate.h"
#include "sarseg/util/error.h"

namespace sarseg::infer {
namespace {

TEST(EvaluateSceneFiles, EmptyListAndMissingFilesAreUserErrors) {
  models::ModelSpec spec;
  spec.encoder = "mobilenet_v2";
  spec.decoder = "unet";
  spec.decoder_channels = {16, 16, 8, 8, 8};
  spec.heads = {models::HeadSpec{"SOD", 6, false}};
  data::Normalization n{{"hh_db", "hv_db", "incidence_deg"}, {0, 0, 0}, {1, 1, 1}, "test", {}};
  ScenePredictor predictor(models::build_model(spec), n, {"SOD"});
  const eval::ScoringSpec scoring{{eval::HeadScoring{"SOD", 6}}, -1};
  EXPECT_THROW(evaluate_scene_files(predictor, scoring, {}), UserError);
  EXPECT_THROW(evaluate_scene_files(predictor, scoring, {"/no/such/scene.nc"}), UserError);
}

TEST(ScoreScene, SicRegressionHeadIsScoredOnElevenClasses) {
  EXPECT_EQ(head_class_count(models::HeadSpec{"SIC", 1, true}, "SIC"), 11);
  EXPECT_EQ(head_class_count(models::HeadSpec{"SOD", 6, false}, "SOD"), 6);
}

}  // namespace
}  // namespace sarseg::infer
