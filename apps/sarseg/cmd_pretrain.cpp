// `sarseg pretrain`: self-supervised pretraining of an encoder on scenes without labels (VICReg
// or Barlow Twins); writes a weight file that model.init and an experiment arm take.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "sarseg/experiment/ssl.h"
#include "sarseg/train/pretrain.h"
#include "sarseg/util/error.h"

namespace sarseg::cli {
namespace {

struct PretrainArgs {
  std::string config_file;
  std::vector<std::string> overrides;
  train::PretrainOptions defaults;  // the flags' defaults
  std::string init = defaults.init;
  std::string objective = defaults.objective;
  std::string output = defaults.output;
  bool overwrite = false;
  bool print_config = false;
};

void print_epoch(const train::PretrainEpoch& e, int64_t epochs) {
  std::printf(
      "epoch %lld/%lld: loss %.4f (%.4f / %.4f / %.4f), %.1f samples/s; embeddings: std %.3f "
      "(min %.3f), normalised std %.3f, effective rank %.2f of %lld; encoder output: effective "
      "rank %.2f\n",
      static_cast<long long>(e.epoch), static_cast<long long>(epochs), e.loss, e.invariance,
      e.variance, e.covariance, e.samples_per_second, e.embedding.mean_std, e.embedding.min_std,
      e.embedding.normalised_std, e.embedding.effective_rank,
      static_cast<long long>(e.embedding.dimensions), e.representation.effective_rank);
  std::fflush(stdout);
}

void run_pretrain(const PretrainArgs& args) {
  std::optional<std::filesystem::path> file;
  if (!args.config_file.empty()) file = args.config_file;
  // The flags are ssl.* keys, applied before --set so that --set has the last word.
  std::vector<std::string> overrides = {"ssl.init=" + args.init, "ssl.objective=" + args.objective,
                                        "ssl.output=" + args.output};
  if (args.overwrite) overrides.push_back("ssl.overwrite=true");
  overrides.insert(overrides.end(), args.overrides.begin(), args.overrides.end());
  const experiment::PretrainJob job = experiment::load_pretrain_job(file, overrides);
  if (args.print_config) {
    std::fputs(experiment::pretrain_job_schema().to_yaml(job).c_str(), stdout);
    return;
  }
  const auto scenes = experiment::pretraining_scenes(job.train, job.synth, job.ssl, nullptr);
  train::PretrainCallbacks callbacks;
  callbacks.on_epoch_end = [&](const train::PretrainEpoch& e) { print_epoch(e, job.ssl.epochs); };
  // Test switch for the collapse negative control: every input the same.
  if (const char* fault = std::getenv("SARSEG_PRETRAIN_FAULT");
      fault && std::string(fault) == "constant_input")
    callbacks.inject_fault = [](int64_t, int64_t) { return train::PretrainFault::kConstantInput; };
  std::printf("pretraining %s (%s, start %s) on %zu scenes without labels\n",
              job.train.model.encoder.c_str(), job.ssl.objective.c_str(), job.ssl.init.c_str(),
              scenes.size());
  const train::PretrainResult result =
      train::run_pretraining(job.train, job.ssl, scenes, callbacks);
  std::printf(
      "wrote %s (%s encoder, %lld epochs, %lld samples, %.1f s, %.1f samples/s) and %s\n"
      "fine-tune from it with --set model.init=%s (or an experiment arm NAME:%s)\n",
      result.weights.string().c_str(), result.encoder.c_str(),
      static_cast<long long>(result.epochs), static_cast<long long>(result.samples_seen),
      result.wall_seconds,
      result.train_seconds > 0 ? double(result.samples_seen) / result.train_seconds : 0.0,
      result.record.string().c_str(), result.weights.string().c_str(),
      result.weights.string().c_str());
}

void add_pretrain_command(CLI::App& root) {
  auto args = std::make_shared<PretrainArgs>();
  auto* cmd = root.add_subcommand(
      "pretrain", "self-supervised pretraining of an encoder on scenes without labels");
  cmd->add_option("--config,-c", args->config_file,
                  "YAML config file (training keys: model.*, data.*; plus ssl.*)");
  cmd->add_option("--set", args->overrides,
                  "override a config key: --set section.key=value (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--init", args->init,
                  "encoder start: random, imagenet, a weight-set name or a weight file (ssl.init)");
  cmd->add_option("--objective", args->objective, "vicreg or barlow (ssl.objective)")
      ->check(CLI::IsMember({"vicreg", "barlow"}));
  cmd->add_option("--out,-o", args->output, "encoder weight file to write (ssl.output)");
  cmd->add_flag("--overwrite", args->overwrite, "replace an existing output file (ssl.overwrite)");
  cmd->add_flag("--print-config", args->print_config, "print the resolved config as YAML and exit");
  cmd->footer(
      "Exit codes: 0 weights written; 2 bad input (no scenes, a missing band, an existing output) "
      "or collapsed embeddings (no weights written).\nConfig keys (section.key = default):\n" +
      experiment::pretrain_job_schema().help_text() + "docs/ssl.md describes pretraining.");
  cmd->callback([args] { run_pretrain(*args); });
}

const CommandRegistration kRegistration{42, "pretrain", add_pretrain_command};

}  // namespace
}  // namespace sarseg::cli
