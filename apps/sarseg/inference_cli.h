// The inference options as command-line flags, shared by `sarseg eval`, `sarseg predict` and
// `sarseg bench predict`. Help texts and choices come from the config schema
// (infer::inference_options_schema), so a flag and its `inference.*` key never disagree.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "sarseg/infer/options.h"

namespace sarseg::cli {

inline const config::ConfigSchema<infer::InferenceOptions>::Key& inference_key(
    const std::string& name) {
  return *infer::inference_options_schema().find("inference." + name);
}

// Where the options of a command come from: flags, and `--config FILE` / `--set inference.K=V`.
struct InferenceSettings {
  infer::InferenceOptions flags;  // bound to the flags
  std::string config_file;        // YAML with an `inference:` section
  std::vector<std::string> overrides;
};

inline void add_inference_options(CLI::App& app, infer::InferenceOptions& options);

// Adds the flags plus --config and --set.
inline void add_inference_settings(CLI::App& app, InferenceSettings& settings) {
  add_inference_options(app, settings.flags);
  app.add_option("--config", settings.config_file,
                 "YAML file whose `inference:` section sets the options below (flags win)")
      ->group("Inference");
  app.add_option("--set", settings.overrides,
                 "inference.KEY=VALUE override, repeatable (flags win); keys as in "
                 "docs/config.md")
      ->group("Inference");
}

// Defaults, then the YAML file, then --set, then the flags given on the command line.
inline infer::InferenceOptions resolve_inference_options(const CLI::App& app,
                                                         const InferenceSettings& settings) {
  const auto& schema = infer::inference_options_schema();
  infer::InferenceOptions resolved;
  if (!settings.config_file.empty()) schema.load_yaml_file(resolved, settings.config_file);
  schema.apply_overrides(resolved, settings.overrides);
  const auto& flags = settings.flags;
  auto given = [&](const char* flag) { return app.count(flag) > 0; };
  if (given("--tile")) resolved.tile = flags.tile;
  if (given("--overlap")) resolved.overlap = flags.overlap;
  if (given("--blend")) resolved.blend = flags.blend;
  if (given("--batch")) resolved.batch = flags.batch;
  if (given("--precision")) resolved.precision = flags.precision;
  if (given("--fold-bn") || given("--no-fold-bn")) resolved.fold_batchnorm = flags.fold_batchnorm;
  if (given("--channels-last") || given("--no-channels-last"))
    resolved.channels_last = flags.channels_last;
  if (given("--inference-mode") || given("--no-inference-mode"))
    resolved.inference_mode = flags.inference_mode;
  if (given("--device")) resolved.device = flags.device;
  if (given("--mc-dropout")) resolved.mc_dropout = flags.mc_dropout;
  if (given("--calibrated") || given("--no-calibrated")) resolved.calibrated = flags.calibrated;
  schema.validate(resolved);
  return resolved;
}

inline void add_inference_options(CLI::App& app, infer::InferenceOptions& options) {
  const std::string group = "Inference";
  auto option = [&](const std::string& flag, const std::string& key, auto& field) {
    const auto& k = inference_key(key);
    auto* added = app.add_option(flag, field, k.help)->group(group);
    if (!k.choices.empty()) added->check(CLI::IsMember(k.choices));
  };
  // A switch pair: --flag sets, --no-flag clears; the help names the default.
  auto toggle = [&](const std::string& flags, const std::string& key, bool& field) {
    const auto& k = inference_key(key);
    app.add_flag(flags, field, k.help + " (default: " + (field ? "on" : "off") + ")")->group(group);
  };
  option("--tile", "tile", options.tile);
  option("--overlap", "overlap", options.overlap);
  option("--blend", "blend", options.blend);
  option("--batch", "batch", options.batch);
  option("--precision", "precision", options.precision);
  toggle("--fold-bn,!--no-fold-bn", "fold_batchnorm", options.fold_batchnorm);
  toggle("--channels-last,!--no-channels-last", "channels_last", options.channels_last);
  toggle("--inference-mode,!--no-inference-mode", "inference_mode", options.inference_mode);
  option("--device", "device", options.device);
  option("--mc-dropout", "mc_dropout", options.mc_dropout);
  toggle("--calibrated,!--no-calibrated", "calibrated", options.calibrated);
}

}  // namespace sarseg::cli
