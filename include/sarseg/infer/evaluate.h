// Evaluating a model on whole scenes: tiled prediction, then scoring of the class maps (eval/)
// per scene, per season and pooled.
//
//   auto bundle = infer::load_inference_bundle("runs/q1");
//   auto report = infer::evaluate_scene_files(infer::make_predictor(bundle), bundle.scoring,
//                                             {"a.nc", "b.nc"});
//   std::cout << eval::to_markdown(report);
#pragma once

#include <filesystem>
#include <functional>
#include <vector>

#include "sarseg/eval/metrics.h"
#include "sarseg/eval/report.h"
#include "sarseg/eval/scoring.h"
#include "sarseg/infer/inference.h"
#include "sarseg/io/scene_io.h"

namespace sarseg::infer {

struct SceneEvaluation {
  ScenePrediction prediction;
  std::vector<eval::ConfusionMatrix> confusions;  // one per head
  // One per head: calibration of its probabilities against the truth (no pixel for regression).
  std::vector<eval::CalibrationAccumulator> calibration;
};

// Checks a scene before inference: input bands present, a label per head, label values within the
// head's classes (or 255, or the ignore label). UserError naming the scene file otherwise.
void check_scene_for_evaluation(const io::Scene& scene, const ScenePredictor& predictor,
                                const eval::ScoringSpec& scoring);

// Checks, predicts (with probabilities) and scores one scene, class maps and calibration.
SceneEvaluation evaluate_scene(const ScenePredictor& predictor, const eval::ScoringSpec& scoring,
                               const io::Scene& scene);

// Reads, predicts and scores each file in turn (one scene in memory at a time). Every file is
// checked to exist before the first is read; an empty list is a UserError. `on_scene` is called
// after each scene (progress output).
eval::EvaluationReport evaluate_scene_files(
    const ScenePredictor& predictor, const eval::ScoringSpec& scoring,
    const std::vector<std::filesystem::path>& files, const io::SceneReadOptions& read_options = {},
    const std::function<void(const eval::EvaluationGroup&)>& on_scene = {});

}  // namespace sarseg::infer
