// Evaluating a model on whole scenes: tiled prediction, then metrics per scene, per season and
// pooled (eval/report.h).
//
//   eval::ScenePredictor predictor(bundle.model, bundle.normalization, bundle.head_labels,
//   options); auto report = eval::evaluate_scene_files(predictor, {"a.nc", "b.nc"}); std::cout <<
//   eval::to_markdown(report);
#pragma once

#include <filesystem>
#include <functional>
#include <vector>

#include "sarseg/eval/inference.h"
#include "sarseg/eval/metrics.h"
#include "sarseg/eval/report.h"
#include "sarseg/io/scene_io.h"

namespace sarseg::eval {

// One confusion matrix per head of `prediction` against the scene's labels. Pixels invalid in the
// input or labelled 255 are not counted. UserError naming the scene file when a head's label is
// missing, has another size, or holds a value beyond the head's classes (with row and column).
std::vector<ConfusionMatrix> score_scene(const io::Scene& scene, const ScenePrediction& prediction,
                                         const std::vector<models::HeadSpec>& heads);

// Checks a scene before inference: input bands present, a label per head, label values within the
// head's classes. UserError naming the scene file and what to do otherwise.
void check_scene_for_evaluation(const io::Scene& scene, const ScenePredictor& predictor);

// Reads, predicts and scores each file in turn (one scene in memory at a time). Every file is
// checked to exist before the first is read; an empty list is a UserError. `on_scene` is called
// after each scene (progress output).
EvaluationReport evaluate_scene_files(
    const ScenePredictor& predictor, const std::vector<std::filesystem::path>& files,
    const io::SceneReadOptions& read_options = {},
    const std::function<void(const EvaluationGroup&)>& on_scene = {});

}  // namespace sarseg::eval
