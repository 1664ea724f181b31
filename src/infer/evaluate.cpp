#include "sarseg/infer/evaluate.h"

#include <system_error>

#include "sarseg/util/error.h"

namespace sarseg::infer {

namespace fs = std::filesystem;

void check_scene_for_evaluation(const io::Scene& scene, const ScenePredictor& predictor,
                                const eval::ScoringSpec& scoring) {
  scene.check_consistent();
  predictor.check_scene(scene);
  eval::check_truth(scene, scoring);
}

SceneEvaluation evaluate_scene(const ScenePredictor& predictor, const eval::ScoringSpec& scoring,
                               const io::Scene& scene) {
  check_scene_for_evaluation(scene, predictor, scoring);
  SceneEvaluation result;
  result.prediction = predictor.predict(scene, /*probabilities=*/true);
  std::vector<const io::LabelRaster*> class_maps;
  for (const auto& head : result.prediction.heads)
    class_maps.push_back(&head.classes);
  result.confusions = eval::score_scene(scene, class_maps, result.prediction.valid, scoring);
  for (size_t h = 0; h < result.prediction.heads.size(); ++h) {
    const auto& head = result.prediction.heads[h];
    eval::CalibrationAccumulator calibration;
    if (!head.probabilities.empty()) {
      std::vector<const uint8_t*> probabilities;
      for (const auto& p : head.probabilities)
        probabilities.push_back(p.data.data());
      const auto& truth = scene.labels.at(scoring.heads[h].label);
      eval::add_calibration_pixels(calibration, probabilities, truth.data.data(),
                                   head.classes.data.data(), result.prediction.valid.data.data(),
                                   head.classes.data.size(), scoring.ignore_label);
    }
    result.calibration.push_back(std::move(calibration));
  }
  return result;
}

eval::EvaluationReport evaluate_scene_files(
    const ScenePredictor& predictor, const eval::ScoringSpec& scoring,
    const std::vector<fs::path>& files, const io::SceneReadOptions& read_options,
    const std::function<void(const eval::EvaluationGroup&)>& on_scene) {
  require(!files.empty(), "no scenes to evaluate; give one or more scene files (.nc, .tif)");
  for (const auto& file : files) {
    std::error_code error;
    require(fs::is_regular_file(file, error),
            "scene file '" + file.string() + "' does not exist or is not a file");
  }
  eval::EvaluationAccumulator accumulator(eval::head_labels(scoring));
  for (const auto& file : files) {
    const io::Scene scene = io::read_scene(file, read_options);
    SceneEvaluation evaluation = evaluate_scene(predictor, scoring, scene);
    const std::string id = scene.id.empty() ? file.stem().string() : scene.id;
    const auto& group = accumulator.add_scene(id, scene.season, std::move(evaluation.confusions),
                                              evaluation.prediction.seconds, file.string(),
                                              std::move(evaluation.calibration));
    if (on_scene) on_scene(group);
  }
  auto report = accumulator.report();
  report.settings = to_json(predictor.options());
  // The grid the model predicted on (data.downsample); scores are of the native grid.
  if (predictor.normalization().downsample != 1)
    report.settings["downsample"] = predictor.normalization().downsample;
  return report;
}

}  // namespace sarseg::infer
