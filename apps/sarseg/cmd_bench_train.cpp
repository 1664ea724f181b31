// `sarseg bench train`: samples/s of real training steps with the real loader, and the share of
// step time spent waiting for data.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "sarseg/experiment/scene_sources.h"
#include "sarseg/train/distributed.h"
#include "sarseg/train/trainer.h"
#include "sarseg/util/process.h"
#include "sarseg/util/torch_runtime.h"

namespace sarseg::cli {
namespace {

struct BenchTrainArgs {
  std::string config_file;
  std::vector<std::string> overrides;
  int64_t steps = 20;
  int64_t warmup = 2;
  std::string precision;  // shorthands for --set train.precision / train.channels_last, so that
  bool channels_last = false;  // bench model, train and predict share one spelling
  train::DistributedOptions distributed;
};

void run_bench_train(const BenchTrainArgs& args) {
  std::optional<std::filesystem::path> file;
  if (!args.config_file.empty()) file = args.config_file;
  auto overrides = args.overrides;
  if (!args.precision.empty()) overrides.push_back("train.precision=" + args.precision);
  if (args.channels_last) overrides.push_back("train.channels_last=true");
  const experiment::TrainJob job = experiment::load_train_job(file, overrides);
  const train::TrainConfig& config = job.train;
  // Under `sarseg launch --nproc N` every process is a rank: batch per process, samples/s of all.
  const auto context =
      train::DistributedContext::connect(train::distributed_env_from_process(), args.distributed,
                                         resolve_device_name(config.train.device));
  const auto bench = train::benchmark_training(config, experiment::load_scenes(config, job.synth),
                                               args.steps, args.warmup, context.get());
  if (!context->is_main()) return;
  std::printf("machine        %s\n", cpu_description().c_str());
  std::printf("torch          %s, %d intra-op threads, device %s\n", torch_version().c_str(),
              bench.torch_threads, bench.device.c_str());
  std::printf("precision      %s\n", bench.arithmetic.c_str());
  std::printf("loader         %d worker threads, %lld batches prefetched\n", bench.loader_threads,
              static_cast<long long>(config.data.prefetch_batches));
  std::printf("model          %s, batch %lld, patch %lldx%lld, %zu input bands\n",
              bench.model.c_str(), static_cast<long long>(bench.batch_size),
              static_cast<long long>(bench.patch_size), static_cast<long long>(bench.patch_size),
              config.data.bands.size());
  std::printf("steps          %lld measured after %lld warm-up, %.2f s\n",
              static_cast<long long>(bench.steps), static_cast<long long>(args.warmup),
              bench.seconds);
  std::printf("throughput     %.2f samples/s, %.1f ms per step\n", bench.samples_per_second,
              bench.mean_step_ms);
  std::printf("data wait      %.1f%% of step time\n", 100.0 * bench.data_wait_share);
  if (bench.world_size > 1)
    std::printf("processes      %d (%s), batch %lld each; all-reduce %.1f%% of step time\n",
                bench.world_size, context->backend().c_str(),
                static_cast<long long>(bench.batch_size), 100.0 * bench.allreduce_share);
}

void add_bench_train_command(CLI::App& root) {
  auto args = std::make_shared<BenchTrainArgs>();
  auto* cmd = bench_command(root).add_subcommand(
      "train", "samples/s of real training steps with the real loader, and data-wait share");
  cmd->add_option("--config,-c", args->config_file, "YAML training config");
  cmd->add_option("--set", args->overrides, "override a config key (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--steps", args->steps, "measured training steps");
  cmd->add_option("--warmup", args->warmup, "unmeasured steps first");
  cmd->add_option("--precision", args->precision, "same as --set train.precision=...")
      ->check(CLI::IsMember({"fp32", "bf16", "auto"}));
  cmd->add_flag("--channels-last", args->channels_last, "same as --set train.channels_last=true");
  cmd->add_option("--dist-timeout", args->distributed.timeout_s,
                  "under sarseg launch: seconds to wait for the rendezvous or a silent peer")
      ->check(CLI::PositiveNumber);
  cmd->callback([args] { run_bench_train(*args); });
}

const CommandRegistration kRegistration{93, "bench train", add_bench_train_command};

}  // namespace
}  // namespace sarseg::cli
