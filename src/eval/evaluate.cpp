#include "sarseg/eval/evaluate.h"

#include <system_error>

#include "sarseg/util/error.h"
#include "sarseg/util/log.h"
#include "sarseg/util/strings.h"

namespace sarseg::eval {

namespace fs = std::filesystem;

namespace {

std::string scene_where(const io::Scene& scene) {
  return "scene '" + scene.id + "'" +
         (scene.source_path.empty() ? "" : " (" + scene.source_path + ")");
}

std::vector<std::string> label_names(const io::Scene& scene) {
  std::vector<std::string> names;
  for (const auto& [name, raster] : scene.labels)
    names.push_back(name);
  return names;
}

const io::LabelRaster& head_labels(const io::Scene& scene, const std::string& label, size_t head) {
  auto it = scene.labels.find(label);
  require(it != scene.labels.end(),
          scene_where(scene) + " has no label '" + label + "' that the checkpoint's head " +
              std::to_string(head + 1) + " predicts; it has: " +
              (scene.labels.empty() ? std::string("no labels") : join(label_names(scene), ", ")) +
              "; evaluate on labelled scenes (or use sarseg predict)");
  require(it->second.height == scene.height && it->second.width == scene.width,
          scene_where(scene) + " label '" + label + "' is " + std::to_string(it->second.height) +
              "x" + std::to_string(it->second.width) + ", not the scene's " +
              std::to_string(scene.height) + "x" + std::to_string(scene.width));
  return it->second;
}

void check_label_values(const io::Scene& scene, const io::LabelRaster& labels,
                        const std::string& label, int64_t classes) {
  for (size_t i = 0; i < labels.data.size(); ++i) {
    const int v = labels.data[i];
    if (v == io::kLabelFill || v < classes) continue;
    const auto row = static_cast<int64_t>(i) / labels.width;
    const auto col = static_cast<int64_t>(i) % labels.width;
    throw UserError(scene_where(scene) + " label '" + label + "' holds value " + std::to_string(v) +
                    " at row " + std::to_string(row) + ", column " + std::to_string(col) +
                    ", beyond the checkpoint's " + std::to_string(classes) + " classes (0.." +
                    std::to_string(classes - 1) +
                    ", 255 = no label); relabel the scene or use a matching checkpoint");
  }
}

}  // namespace

std::vector<ConfusionMatrix> score_scene(const io::Scene& scene, const ScenePrediction& prediction,
                                         const std::vector<models::HeadSpec>& heads) {
  std::vector<ConfusionMatrix> result;
  for (size_t h = 0; h < heads.size(); ++h) {
    const auto& predicted = prediction.heads.at(h);
    const auto& truth = head_labels(scene, predicted.label, h);
    const int64_t classes = head_class_count(heads[h], predicted.label);
    check_label_values(scene, truth, predicted.label, classes);
    ConfusionMatrix cm(static_cast<int>(classes));
    cm.add(truth.data.data(), predicted.classes.data.data(), prediction.valid.data.data(),
           truth.data.size(), scene_where(scene) + " label '" + predicted.label + "'");
    result.push_back(std::move(cm));
  }
  return result;
}

void check_scene_for_evaluation(const io::Scene& scene, const ScenePredictor& predictor) {
  scene.check_consistent();
  predictor.check_scene(scene);
  const auto& heads = predictor.model()->spec().heads;
  for (size_t h = 0; h < heads.size(); ++h) {
    const auto& label = predictor.head_labels()[h];
    check_label_values(scene, head_labels(scene, label, h), label,
                       head_class_count(heads[h], label));
  }
}

EvaluationReport evaluate_scene_files(const ScenePredictor& predictor,
                                      const std::vector<fs::path>& files,
                                      const io::SceneReadOptions& read_options,
                                      const std::function<void(const EvaluationGroup&)>& on_scene) {
  require(!files.empty(), "no scenes to evaluate; give one or more scene files (.nc, .tif)");
  for (const auto& file : files) {
    std::error_code error;
    require(fs::is_regular_file(file, error),
            "scene file '" + file.string() + "' does not exist or is not a file");
  }
  EvaluationAccumulator accumulator(predictor.head_labels());
  for (const auto& file : files) {
    const io::Scene scene = io::read_scene(file, read_options);
    check_scene_for_evaluation(scene, predictor);
    const auto prediction = predictor.predict(scene);
    auto confusions = score_scene(scene, prediction, predictor.model()->spec().heads);
    const std::string id = scene.id.empty() ? file.stem().string() : scene.id;
    const auto& group = accumulator.add_scene(id, scene.season, std::move(confusions),
                                              prediction.seconds, file.string());
    if (on_scene) on_scene(group);
  }
  auto report = accumulator.report();
  report.settings = to_json(predictor.options());
  return report;
}

}  // namespace sarseg::eval
