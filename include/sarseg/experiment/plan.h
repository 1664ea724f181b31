// The runs of a study as independent jobs, for the schedulers users have (a SLURM array, GNU
// parallel, `sarseg experiment --jobs N`): the list of runs, one command line per run, and the
// claim file that keeps a run from being started by two workers at once.
//
//   for (const auto& line : plan_commands(config, {"/usr/bin/sarseg", "experiment", "--out", "x"}))
//     puts(line.c_str());  // ... --only imagenet:1, --only random:1, ...
//   then `sarseg experiment ... --assemble` writes the report from the shared folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sarseg/experiment/config.h"

namespace sarseg::experiment {

// One run: an arm and a seed, named "imagenet:3", on a share of the labelled training scenes
// (experiment.label_fractions; "imagenet:3:labels0.25" below 1) and with a speckle filter from the
// axis (experiment/speckle_axis.h; "imagenet:3@refined_lee"). The defaults keep the plain name.
struct PlannedRun {
  std::string arm;
  int64_t seed = 0;
  double label_fraction = 1.0;
  std::string speckle_filter = "none";
  std::string id() const;
};

// Every run of `config`, in the order run_experiment trains them (seed-major; per seed the full
// labels first, then the smaller fractions from the largest).
std::vector<PlannedRun> plan_runs(const ExperimentConfig& config);

// "imagenet:3" -> that run of `config`; UserError naming the runs there are.
PlannedRun parse_run_id(const ExperimentConfig& config, const std::string& id);

// One shell command per run: `base` (the program and its experiment arguments, shell-quoted
// here) followed by --only ID.
std::vector<std::string> plan_commands(const ExperimentConfig& config,
                                       const std::vector<std::string>& base);

// A word quoted for a POSIX shell when it needs it.
std::string shell_quote(const std::string& word);

// <run_dir>/claim, made with O_CREAT|O_EXCL: the worker that makes it trains the run; the file
// names its host and pid and goes when the object dies. A claim of a process on this host that is
// no longer alive is stale and taken over.
class RunClaim {
 public:
  // The claim, or nullopt when another live worker holds it (`holder` then says who).
  static std::optional<RunClaim> try_claim(const std::filesystem::path& run_dir,
                                           std::string* holder = nullptr);
  RunClaim(RunClaim&& other) noexcept;
  RunClaim& operator=(RunClaim&&) = delete;
  RunClaim(const RunClaim&) = delete;
  ~RunClaim();
  static std::filesystem::path path_in(const std::filesystem::path& run_dir);

 private:
  explicit RunClaim(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

}  // namespace sarseg::experiment
