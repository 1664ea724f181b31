// The speckle-filter axis of an experiment (experiment.speckle_filters): every arm x seed run is
// trained once per filter, and the report gives the imagenet-vs-random verdicts per filter, so it
// says whether filtering changes the answer.
//
// A run's filter is part of its identity only when it is not "none": a run without a filter keeps
// its name ("imagenet:3"), folder (<out>/imagenet/seed3) and summary keys; one with a filter is
// "imagenet:3@refined_lee" in <out>/speckle-refined_lee/imagenet/seed3 and carries
// "speckle_filter" in its result. Without the axis (the default, an empty list) every run is
// trained with data.speckle_filter as configured.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "sarseg/experiment/config.h"

namespace sarseg::experiment {

// The filters runs are trained with: experiment.speckle_filters, or {"none"} without the axis.
std::vector<std::string> speckle_axis(const ExperimentConfig& config);
// "" for "none", else "@NAME": appended to a run id.
std::string speckle_run_suffix(const std::string& filter);
// The folder of a run: run_directory() for "none", under <out>/speckle-NAME otherwise
// (<out>/speckle-NAME/<arm>/seed<k> with full labels).
std::filesystem::path speckle_run_directory(const std::filesystem::path& out_dir,
                                            const std::string& arm, int64_t seed,
                                            const std::string& filter, double label_fraction = 1.0);
// The run's training configuration with its filter (none: data.speckle_filter as configured).
void apply_speckle_filter(train::TrainConfig& run, const std::string& filter);
// The (arm, filter) pairs of one seed, filter-major: each filter's arms side by side.
std::vector<std::pair<ArmSpec, std::string>> speckle_axis_runs(
    const std::vector<ArmSpec>& arms, const std::vector<std::string>& filters);
// UserError when the axis names a filter twice, or is combined with data.speckle_filter.
void check_speckle_axis(const ExperimentConfig& config);

}  // namespace sarseg::experiment
