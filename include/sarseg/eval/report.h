// Evaluation results per scene, per season and pooled, as JSON and as a Markdown table (no torch).
//
//   EvaluationAccumulator acc({"SOD"});
//   acc.add_scene("20180116", io::Season::kWinter, {confusion_sod});
//   EvaluationReport report = acc.report();
//   std::cout << to_markdown(report);
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "sarseg/eval/metrics.h"
#include "sarseg/eval/uncertainty.h"
#include "sarseg/io/scene.h"

namespace sarseg::eval {

struct HeadResult {
  std::string label;  // the scene label the head predicts ("SOD", "classes", ...)
  ConfusionMatrix confusion;
  ClassificationMetrics metrics;
  // Calibration of the class probabilities (classification heads; no pixel otherwise): ECE,
  // reliability bins, AUROC of the entropy for misclassified pixels.
  CalibrationAccumulator calibration;
};

// One scene, one season, or all scenes pooled.
struct EvaluationGroup {
  std::string name;  // scene id, season name, or "all"
  std::string season;
  std::string source;  // scene file (scenes only)
  int scenes = 0;
  double seconds = 0;  // inference time (scenes only; summed for groups)
  std::vector<HeadResult> heads;
  // AutoICE scores when the heads include SIC, SOD and FLOE.
  std::optional<AutoIceScore> autoice;
};

struct EvaluationReport {
  std::string checkpoint;
  std::vector<std::string> head_labels;
  nlohmann::json settings;  // inference options, for the record
  std::vector<EvaluationGroup> scenes;
  std::vector<EvaluationGroup>
      seasons;  // only seasons that occur, in freeze-up, winter, melt order
  EvaluationGroup pooled;
};

class EvaluationAccumulator {
 public:
  explicit EvaluationAccumulator(std::vector<std::string> head_labels);
  // One confusion matrix per head, in head order, and optionally one calibration record per head
  // (empty: none). Returns the scene's finalised group.
  const EvaluationGroup& add_scene(const std::string& id, io::Season season,
                                   std::vector<ConfusionMatrix> confusions, double seconds = 0,
                                   const std::string& source = "",
                                   std::vector<CalibrationAccumulator> calibration = {});
  EvaluationReport report() const;

 private:
  std::vector<std::string> head_labels_;
  std::vector<EvaluationGroup> scenes_;
};

// Fills metrics and AutoICE scores of a group from its confusion matrices.
void finalise_group(EvaluationGroup& group);

nlohmann::json metrics_to_json(const ClassificationMetrics& metrics);
// ECE, error AUROC, accuracy, pixels and the reliability bins (null without pixels).
nlohmann::json calibration_to_json(const CalibrationAccumulator& calibration);
nlohmann::json to_json(const EvaluationReport& report);
// Summary table (one row per scene / season / pooled and head), then per-class tables and
// confusion matrices of the pooled result.
std::string to_markdown(const EvaluationReport& report);

}  // namespace sarseg::eval
