#include "sarseg/experiment/speckle_axis.h"

#include <set>

#include "sarseg/experiment/runner.h"
#include "sarseg/io/speckle.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::experiment {

std::vector<std::string> speckle_axis(const ExperimentConfig& config) {
  const auto& filters = config.experiment.speckle_filters;
  return filters.empty() ? std::vector<std::string>{"none"} : filters;
}

std::string speckle_run_suffix(const std::string& filter) {
  return filter == "none" ? "" : "@" + filter;
}

std::filesystem::path speckle_run_directory(const std::filesystem::path& out_dir,
                                            const std::string& arm, int64_t seed,
                                            const std::string& filter, double label_fraction) {
  if (filter == "none") return run_directory(out_dir, arm, seed, label_fraction);
  return run_directory(out_dir / ("speckle-" + filter), arm, seed, label_fraction);
}

void apply_speckle_filter(train::TrainConfig& run, const std::string& filter) {
  if (filter != "none") run.data.speckle_filter = filter;
}

std::vector<std::pair<ArmSpec, std::string>> speckle_axis_runs(
    const std::vector<ArmSpec>& arms, const std::vector<std::string>& filters) {
  std::vector<std::pair<ArmSpec, std::string>> runs;
  for (const auto& filter : filters)
    for (const auto& arm : arms)
      runs.emplace_back(arm, filter);
  return runs;
}

void check_speckle_axis(const ExperimentConfig& config) {
  io::check_speckle_filter(train::speckle_filter_of(config.train), "data.speckle_filter");
  const auto& filters = config.experiment.speckle_filters;
  std::set<std::string> seen;
  for (const auto& filter : filters) {
    io::check_speckle_filter(
        {filter, config.train.data.speckle_window, config.train.data.speckle_looks},
        "experiment.speckle_filters");
    require(seen.insert(filter).second,
            "experiment.speckle_filters names '" + filter + "' twice; give each filter once");
  }
  require(filters.empty() || config.train.data.speckle_filter == "none",
          "experiment.speckle_filters and data.speckle_filter=" + config.train.data.speckle_filter +
              " are both set; list the filters in experiment.speckle_filters alone (with none "
              "for unfiltered runs)");
  // The label-efficiency analysis compares fractions of one preprocessing; crossing the two axes
  // would mix filters in it.
  require(filters.empty() || config.experiment.label_fractions.empty(),
          "experiment.speckle_filters and experiment.label_fractions are both set; run the "
          "speckle axis and the label fractions as two experiments");
}

}  // namespace sarseg::experiment
