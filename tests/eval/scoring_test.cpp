// Scoring class maps against a scene's labels: the one scoring path of eval, predict and the
// experiment.
#include <gtest/gtest.h>

#include "sarseg/eval/scoring.h"
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

io::Raster<uint8_t> valid_but_one() {
  io::Raster<uint8_t> valid(2, 3, 1);
  valid.at(1, 2) = 0;  // invalid input
  return valid;
}

ScoringSpec sod_scoring(int ignore_label = -1) {
  return ScoringSpec{{HeadScoring{"SOD", 6}}, ignore_label};
}

TEST(ScoreScene, CountsLabelledValidPixels) {
  const io::LabelRaster predicted(2, 3, 1);
  const auto cms = score_scene(labelled_scene(), {&predicted}, valid_but_one(), sod_scoring());
  ASSERT_EQ(cms.size(), 1u);
  EXPECT_EQ(cms[0].num_classes(), 6);
  EXPECT_EQ(cms[0].total(), 4);  // 6 pixels - 1 unlabelled - 1 invalid
  EXPECT_EQ(cms[0].at(1, 1), 4);
}

TEST(ScoreScene, MissingLabelAndValuesBeyondClassesAreUserErrors) {
  const io::LabelRaster predicted(2, 3, 1);
  auto scene = labelled_scene();
  scene.labels["SOD"].at(1, 1) = 7;
  try {
    score_scene(scene, {&predicted}, valid_but_one(), sod_scoring());
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("value 7 at row 1, column 1"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("/data/s.tif"), std::string::npos) << e.what();
  }
  scene.labels.clear();
  scene.labels["SIC"] = io::LabelRaster(2, 3, 1);
  try {
    score_scene(scene, {&predicted}, valid_but_one(), sod_scoring());
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no label 'SOD'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("SIC"), std::string::npos) << e.what();
  }
}

TEST(ScoreScene, IgnoredLabelIsNotCountedAndNotAnError) {
  // Value 6 is beyond six classes: refused without an ignore label, skipped with ignore_label 6.
  auto scene = labelled_scene();
  scene.labels["SOD"].at(0, 1) = 6;
  scene.labels["SOD"].at(0, 2) = 6;
  const io::LabelRaster predicted(2, 3, 1);
  EXPECT_THROW(score_scene(scene, {&predicted}, valid_but_one(), sod_scoring()), UserError);
  EXPECT_THROW(check_truth(scene, sod_scoring()), UserError);
  EXPECT_NO_THROW(check_truth(scene, sod_scoring(6)));
  const auto cms = score_scene(scene, {&predicted}, valid_but_one(), sod_scoring(6));
  EXPECT_EQ(cms[0].total(), 2);  // 6 pixels - 1 unlabelled - 2 ignored - 1 invalid
  EXPECT_EQ(scene.labels.at("SOD").at(0, 1), 6) << "the scene's labels are left untouched";
}

TEST(ScoreScene, SicRegressionHeadIsScoredOnElevenClasses) {
  EXPECT_EQ(class_map_classes("SIC", true, 1), 11);
  EXPECT_EQ(class_map_classes("SOD", false, 6), 6);
}

TEST(ScoringSpec, RoundTripsThroughJson) {
  const ScoringSpec spec{{HeadScoring{"SOD", 6}, HeadScoring{"SIC", 11}}, 6};
  const ScoringSpec back = scoring_from_json(scoring_to_json(spec), "test");
  ASSERT_EQ(back.heads.size(), 2u);
  EXPECT_EQ(back.heads[1].label, "SIC");
  EXPECT_EQ(back.heads[1].classes, 11);
  EXPECT_EQ(back.ignore_label, 6);
  EXPECT_THROW(scoring_from_json("{\"heads\": 3}", "test"), UserError);
}

}  // namespace
}  // namespace sarseg::eval
