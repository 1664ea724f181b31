#include "sarseg/data/task.h"

#include "sarseg/io/scene.h"
#include "sarseg/util/config.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::data {

TaskSpec parse_task(const std::string& text, const std::string& where) {
  const auto parts = split(trim(text), ':');
  const std::string usage = where + ": task '" + text +
                            "' must be LABEL:CLASSES[:ce|mse[:WEIGHT]], e.g. SOD:6 or SIC:11:mse:2";
  require(parts.size() >= 2 && parts.size() <= 4 && !trim(parts[0]).empty(), usage);
  TaskSpec task;
  task.label = trim(parts[0]);
  config::parse_value(parts[1], usage, task.classes);
  require(task.classes >= 1 && task.classes < io::kLabelFill,
          where + ": task '" + text + "' needs 1..254 classes");
  if (parts.size() >= 3) {
    const std::string loss = to_lower(trim(parts[2]));
    require(loss == "ce" || loss == "mse", usage);
    task.regression = loss == "mse";
  }
  if (parts.size() == 4) {
    config::parse_value(parts[3], usage, task.weight);
    require(task.weight >= 0.0, where + ": task '" + text + "' weight must be >= 0");
  }
  require(task.regression || task.classes >= 2,
          where + ": task '" + text + "' needs at least 2 classes for cross-entropy");
  return task;
}

std::string format_task(const TaskSpec& task) {
  return task.label + ":" + std::to_string(task.classes) + ":" + (task.regression ? "mse" : "ce") +
         ":" + config::format_value(task.weight);
}

std::vector<TaskSpec> parse_tasks(const std::vector<std::string>& texts, const std::string& where) {
  require(!texts.empty(), where + " is empty; name at least one task, e.g. SOD:6");
  std::vector<TaskSpec> tasks;
  for (const auto& text : texts) {
    tasks.push_back(parse_task(text, where));
    for (size_t i = 0; i + 1 < tasks.size(); ++i)
      require(tasks[i].label != tasks.back().label,
              where + ": label '" + tasks.back().label + "' is named twice");
  }
  return tasks;
}

}  // namespace sarseg::data
