#include "sarseg/eval/scoring.h"

#include <nlohmann/json.hpp>

#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::eval {
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

const io::LabelRaster& truth_of(const io::Scene& scene, const std::string& label, size_t head) {
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
                        const HeadScoring& head, int ignore_label) {
  for (size_t i = 0; i < labels.data.size(); ++i) {
    const int v = labels.data[i];
    if (v == io::kLabelFill || v < head.classes || v == ignore_label) continue;
    const auto row = static_cast<int64_t>(i) / labels.width;
    const auto col = static_cast<int64_t>(i) % labels.width;
    throw UserError(scene_where(scene) + " label '" + head.label + "' holds value " +
                    std::to_string(v) + " at row " + std::to_string(row) + ", column " +
                    std::to_string(col) + ", beyond the checkpoint's " +
                    std::to_string(head.classes) + " classes (0.." +
                    std::to_string(head.classes - 1) + ", 255 = no label" +
                    (ignore_label >= 0 ? ", " + std::to_string(ignore_label) + " = ignored" : "") +
                    "); relabel the scene or use a matching checkpoint");
  }
}

}  // namespace

int64_t class_map_classes(const std::string& label, bool regression, int64_t outputs) {
  if (!regression) return outputs;
  return to_lower(label) == "sic" ? 11 : 255;
}

std::vector<std::string> head_labels(const ScoringSpec& scoring) {
  std::vector<std::string> labels;
  for (const auto& head : scoring.heads)
    labels.push_back(head.label);
  return labels;
}

void check_truth(const io::Scene& scene, const ScoringSpec& scoring) {
  for (size_t h = 0; h < scoring.heads.size(); ++h)
    check_label_values(scene, truth_of(scene, scoring.heads[h].label, h), scoring.heads[h],
                       scoring.ignore_label);
}

std::vector<ConfusionMatrix> score_scene(const io::Scene& scene,
                                         const std::vector<const io::LabelRaster*>& class_maps,
                                         const io::Raster<uint8_t>& valid,
                                         const ScoringSpec& scoring) {
  require(class_maps.size() == scoring.heads.size(),
          scene_where(scene) + ": " + std::to_string(class_maps.size()) + " class maps for " +
              std::to_string(scoring.heads.size()) + " scored heads");
  const size_t pixels = static_cast<size_t>(scene.height * scene.width);
  require(valid.empty() || valid.data.size() == pixels,
          scene_where(scene) + ": validity mask is not the scene's size");
  std::vector<ConfusionMatrix> result;
  for (size_t h = 0; h < scoring.heads.size(); ++h) {
    const HeadScoring& head = scoring.heads[h];
    const io::LabelRaster& truth = truth_of(scene, head.label, h);
    check_label_values(scene, truth, head, scoring.ignore_label);
    const io::LabelRaster& predicted = *class_maps[h];
    require(predicted.data.size() == pixels,
            scene_where(scene) + ": the class map of '" + head.label + "' is not the scene's size");
    const uint8_t* counted = valid.empty() ? nullptr : valid.data.data();
    ConfusionMatrix cm(static_cast<int>(head.classes));
    cm.add(truth.data.data(), predicted.data.data(), counted, pixels,
           scene_where(scene) + " label '" + head.label + "'", scoring.ignore_label);
    result.push_back(std::move(cm));
  }
  return result;
}

std::string scoring_to_json(const ScoringSpec& scoring) {
  nlohmann::json heads = nlohmann::json::array();
  for (const auto& head : scoring.heads)
    heads.push_back({{"label", head.label}, {"classes", head.classes}});
  return nlohmann::json{{"heads", heads}, {"ignore_label", scoring.ignore_label}}.dump();
}

ScoringSpec scoring_from_json(const std::string& text, const std::string& where) {
  ScoringSpec scoring;
  try {
    const auto j = nlohmann::json::parse(text);
    for (const auto& h : j.at("heads"))
      scoring.heads.push_back({h.at("label").get<std::string>(), h.at("classes").get<int64_t>()});
    scoring.ignore_label = j.at("ignore_label").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw UserError(where + ": malformed scoring record (" + e.what() + ")");
  }
  return scoring;
}

}  // namespace sarseg::eval
