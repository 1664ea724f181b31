// data.downsample end to end through the library: a tiny model trained at x2 records the factor
// in its checkpoint, and its prediction of a native scene is made on the x2 grid, brought back
// and scored on the native grid (every labelled valid native pixel counted once).
#include <gtest/gtest.h>

#include <cmath>

#include "sarseg/checkpoint/checkpoint.h"
#include "sarseg/infer/checkpoint_loader.h"
#include "sarseg/infer/evaluate.h"
#include "sarseg/io/downsample.h"
#include "sarseg/util/error.h"
#include "support/test_support.h"
#include "tiny_config.h"

namespace fs = std::filesystem;
using namespace sarseg;

namespace {

// Labelled valid native pixels of `scene` for `label`: what the score must count.
int64_t native_scored_pixels(const io::Scene& scene, const std::string& label,
                             const std::vector<std::string>& bands) {
  int64_t count = 0;
  const auto& truth = scene.labels.at(label);
  for (int64_t r = 0; r < scene.height; ++r)
    for (int64_t c = 0; c < scene.width; ++c) {
      bool valid = scene.is_valid(r, c) && truth.at(r, c) != io::kLabelFill;
      for (const auto& band : bands)
        valid = valid && std::isfinite(scene.band(band).pixels.at(r, c));
      count += valid ? 1 : 0;
    }
  return count;
}

TEST(DownsampledTraining, PredictionOfANativeSceneIsScoredOnTheNativeGrid) {
  sarseg::testing::TempDir dir;
  const fs::path run = dir / "run";
  const auto job = sarseg::testing::tiny_job(
      sarseg::testing::tiny_train_overrides(run, 1, 5, {"data.downsample=2"}));
  ASSERT_EQ(job.train.data.downsample, 2);
  const auto scenes = sarseg::testing::tiny_scenes(job);
  train::run_training(job.train, {}, &scenes);

  const auto bundle = infer::load_inference_bundle(run);
  EXPECT_EQ(bundle.normalization.downsample, 2);  // recorded with the model
  const infer::ScenePredictor predictor = infer::make_predictor(bundle);

  const io::Scene& native = scenes.val.front();
  ASSERT_EQ(native.height, 96);  // the scene as read, not downsampled
  const std::string label = bundle.scoring.heads.front().label;
  const int64_t expected = native_scored_pixels(native, label, bundle.normalization.bands);
  ASSERT_GT(expected, 0);
  const infer::SceneEvaluation evaluation =
      infer::evaluate_scene(predictor, bundle.scoring, native);
  const auto& head = evaluation.prediction.heads.front();
  EXPECT_EQ(head.classes.height, native.height);
  EXPECT_EQ(head.classes.width, native.width);
  EXPECT_EQ(evaluation.prediction.valid.height, native.height);
  EXPECT_EQ(evaluation.confusions.front().total(), expected);
  // Not the count of the x2 grid (a quarter or so of it).
  const io::Scene coarse = io::downsample_scene(native, 2);
  EXPECT_NE(native_scored_pixels(coarse, label, bundle.normalization.bands), expected);
  // Every valid native pixel has a class: the prediction covers the native grid.
  for (size_t i = 0; i < head.classes.data.size(); ++i) {
    if (evaluation.prediction.valid.data[i]) {
      ASSERT_NE(head.classes.data[i], io::kLabelFill) << i;
    }
  }
}

TEST(DownsampledTraining, FactorBelowOneIsRefusedNamingTheKey) {
  try {
    train::load_train_config(std::nullopt, {"data.downsample=0"});
    FAIL() << "data.downsample=0 accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("data.downsample"), std::string::npos) << e.what();
  }
}

}  // namespace
