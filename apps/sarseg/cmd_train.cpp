// `sarseg train`: trains one model from a config (YAML) with `--set key=value` overrides, or
// resumes a run directory exactly.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "sarseg/experiment/scene_sources.h"
#include "sarseg/train/trainer.h"
#include "sarseg/util/error.h"
#include "train_progress.h"

namespace sarseg::cli {
namespace {

struct TrainArgs {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string resume_dir;
  bool print_config = false;
};

void run_train(const TrainArgs& args) {
  if (!args.resume_dir.empty()) {
    require(args.config_file.empty() && args.overrides.empty(),
            "--resume continues a run with its saved config; --config and --set cannot be "
            "combined with it");
    const experiment::TrainJob job = experiment::saved_train_job(args.resume_dir);
    const auto scenes = experiment::load_scenes(job.train, job.synth);
    const auto callbacks = terminal_train_callbacks(job.train.output);
    const auto result = train::resume_training(args.resume_dir, callbacks, &scenes);
    std::printf("run %s: %lld epochs (%s); best %s %.6g at epoch %lld\n",
                result.run_dir.string().c_str(), static_cast<long long>(result.epochs_completed),
                result.stop_reason.c_str(), result.monitor.c_str(), result.best_value,
                static_cast<long long>(result.best_epoch));
    return;
  }
  std::optional<std::filesystem::path> file;
  if (!args.config_file.empty()) file = args.config_file;
  const experiment::TrainJob job = experiment::load_train_job(file, args.overrides);
  if (args.print_config) {
    std::fputs(experiment::train_job_schema().to_yaml(job).c_str(), stdout);
    return;
  }
  const auto scenes = experiment::load_scenes(job.train, job.synth);
  const auto result =
      train::run_training(job.train, terminal_train_callbacks(job.train.output), &scenes);
  std::printf("run %s: %lld epochs (%s); best %s %.6g at epoch %lld\n",
              result.run_dir.string().c_str(), static_cast<long long>(result.epochs_completed),
              result.stop_reason.c_str(), result.monitor.c_str(), result.best_value,
              static_cast<long long>(result.best_epoch));
}

void add_train_command(CLI::App& root) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = root.add_subcommand("train", "train a segmentation model from a config");
  cmd->add_option("--config,-c", args->config_file, "YAML config file (see configs/train/)");
  cmd->add_option("--set", args->overrides,
                  "override a config key: --set section.key=value (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--resume", args->resume_dir,
                  "continue the run in this directory from checkpoints/last.pt, exactly");
  cmd->add_flag("--print-config", args->print_config, "print the resolved config as YAML and exit");
  cmd->footer("Config keys (section.key = default):\n" +
              experiment::train_job_schema().help_text() +
              "docs/config.md describes every key; configs/train/ holds example configs.");
  cmd->callback([args] { run_train(*args); });
}

const CommandRegistration kRegistration{40, "train", add_train_command};

}  // namespace
}  // namespace sarseg::cli
