// A training target: which scene label raster a model head predicts, and how.
//
//   "SOD:6"          6-class cross-entropy on label SOD
//   "SIC:11:mse:2"   SIC class index (0..10) regressed with MSE, task weight 2
//   "FLOE:7:ce:1"    explicit form of a classification task
// Label value 255 (io::kLabelFill) is never a class: it is ignored by the loss and the metrics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sarseg::data {

struct TaskSpec {
  std::string label = "SOD";  // scene label name
  int64_t classes = 6;        // valid label values are 0..classes-1
  bool regression = false;    // true: one output channel, MSE on the class index
  double weight = 1.0;        // factor of this task's loss in the total
};

// Parses "LABEL:CLASSES[:ce|mse[:WEIGHT]]"; UserError naming `where` otherwise.
TaskSpec parse_task(const std::string& text, const std::string& where);
std::string format_task(const TaskSpec& task);
std::vector<TaskSpec> parse_tasks(const std::vector<std::string>& texts, const std::string& where);

}  // namespace sarseg::data
