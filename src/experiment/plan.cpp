#include "sarseg/experiment/plan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>

#include "sarseg/experiment/label_efficiency.h"
#include "sarseg/experiment/speckle_axis.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {

std::string PlannedRun::id() const {
  const std::string base = arm + ":" + std::to_string(seed);
  return (label_fraction == 1.0 ? base : base + ":labels" + fraction_text(label_fraction)) +
         speckle_run_suffix(speckle_filter);
}

std::vector<PlannedRun> plan_runs(const ExperimentConfig& config) {
  std::vector<PlannedRun> runs;
  const auto arms = arms_of(config);
  std::vector<double> fractions = {1.0};
  for (double f : config.experiment.label_fractions)
    if (f != 1.0) fractions.push_back(f);
  std::sort(fractions.begin() + 1, fractions.end(), std::greater<double>());
  for (int64_t seed : config.experiment.seeds)
    for (const auto& filter : speckle_axis(config))
      for (double fraction : fractions)
        for (const auto& arm : arms)
          runs.push_back({arm.name, seed, fraction, filter});
  return runs;
}

PlannedRun parse_run_id(const ExperimentConfig& config, const std::string& id) {
  std::vector<std::string> known;
  for (const auto& run : plan_runs(config)) {
    if (run.id() == id) return run;
    known.push_back(run.id());
  }
  throw UserError(
      "--only " + id +
      ": not a run of this experiment (ARM:SEED[:labelsFRACTION][@FILTER]); its runs are " +
      join(known, ", "));
}

std::string shell_quote(const std::string& word) {
  const bool plain = !word.empty() && word.find_first_not_of(
                                          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_-./=:,@+%") == std::string::npos;
  if (plain) return word;
  std::string quoted = "'";
  for (char c : word)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::vector<std::string> plan_commands(const ExperimentConfig& config,
                                       const std::vector<std::string>& base) {
  std::string prefix;
  for (const auto& word : base)
    prefix += (prefix.empty() ? "" : " ") + shell_quote(word);
  std::vector<std::string> lines;
  for (const auto& run : plan_runs(config))
    lines.push_back(prefix + " --only " + shell_quote(run.id()));
  return lines;
}

namespace {

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

// "host pid" of a claim file, or empty.
std::pair<std::string, long> read_holder(const fs::path& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const std::exception&) {
    return {"", 0};
  }
  const auto parts = split(trim(text), ' ');
  if (parts.size() < 2) return {"", 0};
  return {parts[0], std::strtol(parts[1].c_str(), nullptr, 10)};
}

}  // namespace

fs::path RunClaim::path_in(const fs::path& run_dir) {
  return run_dir / "claim";
}

std::optional<RunClaim> RunClaim::try_claim(const fs::path& run_dir, std::string* holder) {
  ensure_output_directory(run_dir);
  const fs::path path = path_in(run_dir);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd >= 0) {
      const std::string text = host_name() + " " + std::to_string(getpid()) + "\n";
      const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
      close(fd);
      require(written, "cannot write the claim file " + path.string());
      return RunClaim(path);
    }
    require(errno == EEXIST,
            "cannot create the claim file " + path.string() + ": " + std::strerror(errno));
    const auto [host, pid] = read_holder(path);
    if (holder) *holder = host + " pid " + std::to_string(pid);
    // A claim of a dead process on this host (a killed worker) is taken over.
    const bool stale =
        host == host_name() && pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    if (!stale) return std::nullopt;
    fs::remove(path);
  }
  return std::nullopt;
}

RunClaim::RunClaim(RunClaim&& other) noexcept : path_(std::move(other.path_)) {
  other.path_.clear();
}

RunClaim::~RunClaim() {
  if (path_.empty()) return;
  std::error_code ignored;
  fs::remove(path_, ignored);
}

}  // namespace sarseg::experiment
