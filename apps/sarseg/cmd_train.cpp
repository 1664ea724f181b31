// `sarseg train`: trains one model from a config (YAML) with `--set key=value` overrides, or
// resumes a run directory exactly.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "sarseg/experiment/scene_sources.h"
#include "sarseg/train/distributed.h"
#include "sarseg/train/trainer.h"
#include "sarseg/util/error.h"
#include "sarseg/util/torch_runtime.h"
#include "train_progress.h"

namespace sarseg::cli {
namespace {

struct TrainArgs {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string resume_dir;
  bool print_config = false;
  train::DistributedOptions distributed;
};

// One process, or this process's rank of the job the environment describes (torchrun-style or
// SLURM variables, e.g. from `sarseg launch`).
std::unique_ptr<train::DistributedContext> join_job(const TrainArgs& args,
                                                    const train::TrainConfig& config) {
  return train::DistributedContext::connect(train::distributed_env_from_process(), args.distributed,
                                            resolve_device_name(config.train.device));
}

// Only rank 0 draws progress and prints the result.
train::TrainCallbacks rank_callbacks(const train::DistributedContext& context,
                                     train::OutputSection output) {
  if (!context.is_main()) output.progress = "off";
  return terminal_train_callbacks(output);
}

void print_result(const train::DistributedContext& context, const train::TrainResult& result) {
  if (!context.is_main()) return;
  std::printf("run %s: %lld epochs (%s); best %s %.6g at epoch %lld\n",
              result.run_dir.string().c_str(), static_cast<long long>(result.epochs_completed),
              result.stop_reason.c_str(), result.monitor.c_str(), result.best_value,
              static_cast<long long>(result.best_epoch));
}

void run_train(const TrainArgs& args) {
  if (!args.resume_dir.empty()) {
    require(args.config_file.empty() && args.overrides.empty(),
            "--resume continues a run with its saved config; --config and --set cannot be "
            "combined with it");
    const experiment::TrainJob job = experiment::saved_train_job(args.resume_dir);
    const auto context = join_job(args, job.train);
    const auto scenes = experiment::load_scenes(job.train, job.synth);
    const auto callbacks = rank_callbacks(*context, job.train.output);
    print_result(*context,
                 train::resume_training(args.resume_dir, callbacks, &scenes, context.get()));
    return;
  }
  std::optional<std::filesystem::path> file;
  if (!args.config_file.empty()) file = args.config_file;
  const experiment::TrainJob job = experiment::load_train_job(file, args.overrides);
  if (args.print_config) {
    std::fputs(experiment::train_job_schema().to_yaml(job).c_str(), stdout);
    return;
  }
  const auto context = join_job(args, job.train);
  const auto scenes = experiment::load_scenes(job.train, job.synth);
  print_result(*context, train::run_training(job.train, rank_callbacks(*context, job.train.output),
                                             &scenes, context.get()));
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
  cmd->add_option(
         "--dist-timeout", args->distributed.timeout_s,
         "several processes (RANK/WORLD_SIZE or SLURM_PROCID/SLURM_NTASKS set): seconds to "
         "wait for the rendezvous or a silent peer before stopping")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--dist-backend", args->distributed.backend,
                  "several processes: auto (nccl on CUDA, gloo on CPU), gloo or nccl")
      ->check(CLI::IsMember({"auto", "gloo", "nccl"}));
  cmd->footer("Config keys (section.key = default):\n" +
              experiment::train_job_schema().help_text() +
              "docs/config.md describes every key; configs/train/ holds example configs.");
  cmd->callback([args] { run_train(*args); });
}

const CommandRegistration kRegistration{40, "train", add_train_command};

}  // namespace
}  // namespace sarseg::cli
