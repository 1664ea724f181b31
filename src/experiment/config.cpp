#include "sarseg/experiment/config.h"
#include "sarseg/experiment/speckle_axis.h"
#include "sarseg/io/speckle.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "sarseg/experiment/test_domains.h"
#include "sarseg/io/scene.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::experiment {

// Generated at build time from configs/experiment/*.yaml (see src/experiment/CMakeLists.txt).
extern const std::vector<std::pair<std::string, std::string>>& embedded_profiles();

namespace {

using Schema = config::ConfigSchema<ExperimentConfig>;

Schema make_schema() {
  Schema s;
  s.include(
      train::train_config_schema(), [](ExperimentConfig & c) -> auto& { return c.train; });
  s.include(
      synth::split_options_schema(), [](ExperimentConfig & c) -> auto& { return c.synth; });
  s.add(
      "experiment.name", [](ExperimentConfig & c) -> auto& { return c.experiment.name; },
      "experiment name; the default output folder is runs/<name>");
  s.add(
      "experiment.arms", [](ExperimentConfig & c) -> auto& { return c.experiment.arms; },
      "arms: imagenet, random, ssl (self-supervised pretraining on the scenes without labels, "
      "ssl.*), or NAME:INIT[:FREEZE_EPOCHS|all] (INIT as model.init)");
  s.add(
      "experiment.seeds", [](ExperimentConfig & c) -> auto& { return c.experiment.seeds; },
      "seeds; every arm runs once per seed with the same data, crops and batch order");
  s.add(
      "experiment.reference_arm",
      [](ExperimentConfig & c) -> auto& { return c.experiment.reference_arm; },
      "arm whose advantage is tested (paired differences reference - baseline)");
  s.add(
      "experiment.baseline_arm",
      [](ExperimentConfig & c) -> auto& { return c.experiment.baseline_arm; },
      "arm it is compared with");
  s.add(
      "experiment.test_seasons",
      [](ExperimentConfig & c) -> auto& { return c.experiment.test_seasons; },
      "seasons that must have test scenes (freeze-up, winter, melt); [] = no requirement");
  s.add("experiment.evaluate", [](ExperimentConfig & c) -> auto& { return c.experiment.evaluate; },
        "weights evaluated on the test scenes", {"last", "best"});
  s.add(
      "experiment.quicklooks_per_season",
      [](ExperimentConfig & c) -> auto& { return c.experiment.quicklooks_per_season; },
      "test scenes per season shown as quicklooks (truth and each arm's prediction)");
  s.add(
      "experiment.quicklook_size",
      [](ExperimentConfig & c) -> auto& { return c.experiment.quicklook_size; },
      "longest side of a quicklook image in pixels");
  s.add(
      "experiment.label_fractions",
      [](ExperimentConfig & c) -> auto& { return c.experiment.label_fractions; },
      "shares (0, 1] of the labelled training scenes each arm and seed also trains on (nested, "
      "seeded, per season), e.g. [0.1, 0.25, 0.5, 1.0]; [] = full labels only");
  s.add(
      "data.test_domains", [](ExperimentConfig & c) -> auto& { return c.experiment.test_domains; },
      "test domains besides the season, \"NAME: SCENES\" each, words separated by spaces: "
      "scene or list files (data.source=files) or simulator shifts looks=N noise_floor_db=D "
      "incidence=NEAR-FAR pixel_spacing_m=M (synthetic)");
  s.add(
      "experiment.speckle_filters",
      [](ExperimentConfig & c) -> auto& { return c.experiment.speckle_filters; },
      "speckle filters as an axis: every arm x seed run once per filter (data.speckle_window and "
      "data.speckle_looks apply), verdicts per filter; [] = no axis (data.speckle_filter)",
      io::speckle_filter_names());
  // How the test scenes are predicted (inference.device "cpu", the default, follows train.device).
  s.include(
      infer::inference_options_schema(), [](ExperimentConfig & c) -> auto& { return c.inference; });
  // The ssl arm's pretraining (experiment/ssl.h).
  s.include(
      train::pretrain_options_schema(), [](ExperimentConfig & c) -> auto& { return c.ssl; });
  s.add_check([](const ExperimentConfig& c) { validate(c); });
  return s;
}

}  // namespace

const config::ConfigSchema<ExperimentConfig>& experiment_config_schema() {
  static const Schema schema = make_schema();
  return schema;
}

std::vector<std::string> profile_names() {
  std::vector<std::string> names;
  for (const auto& [name, text] : embedded_profiles())
    names.push_back(name);
  return names;
}

const std::string& profile_yaml(const std::string& name) {
  for (const auto& [profile, text] : embedded_profiles())
    if (profile == name) return text;
  throw UserError("unknown profile '" + name + "' (--profile): choose one of " +
                  join(profile_names(), ", ") + ", or none");
}

ExperimentConfig load_experiment_config(const std::string& profile,
                                        const std::optional<std::filesystem::path>& file,
                                        const std::vector<std::string>& overrides) {
  const auto& schema = experiment_config_schema();
  ExperimentConfig config;
  if (profile != "none") schema.load_yaml_text(config, profile_yaml(profile), "profile " + profile);
  if (file) schema.load_yaml_file(config, *file);
  schema.apply_overrides(config, overrides);
  schema.validate(config);
  return config;
}

ArmSpec parse_arm(const std::string& text, const std::string& where, int64_t max_epochs) {
  ArmSpec arm;
  const auto parts = split(text, ':');
  if (parts.size() == 1) {
    arm.name = trim(parts[0]);
    if (arm.name == "imagenet") {
      arm.init = "imagenet";
      arm.description = "encoder started from its ImageNet weights";
    } else if (arm.name == "random") {
      arm.init = "random";
      arm.description = "random initialisation (torchvision's)";
    } else if (arm.name == "ssl") {
      arm.init = "ssl";
      arm.description =
          "encoder from self-supervised SAR pretraining on the scenes without labels (once per "
          "experiment)";
    } else {
      throw UserError("unknown arm '" + text + "' in " + where +
                      ": use imagenet, random, ssl, or NAME:INIT[:FREEZE_EPOCHS|all] (e.g. "
                      "frozen:imagenet:all)");
    }
    return arm;
  }
  require(parts.size() <= 3 && !trim(parts[0]).empty() && !trim(parts[1]).empty(),
          "arm '" + text + "' in " + where + " is not NAME:INIT[:FREEZE_EPOCHS|all]");
  arm.name = trim(parts[0]);
  arm.init = trim(parts[1]);
  arm.description = "encoder start: " + arm.init;
  if (parts.size() == 3) {
    const std::string freeze = trim(parts[2]);
    if (freeze == "all") {
      arm.freeze_encoder_epochs = max_epochs;
    } else {
      config::parse_value(freeze, "freeze epochs of arm '" + text + "' in " + where,
                          arm.freeze_encoder_epochs);
      require(arm.freeze_encoder_epochs >= 0,
              "arm '" + text + "' in " + where + ": freeze epochs must not be negative");
    }
    if (arm.freeze_encoder_epochs > 0)
      arm.description += freeze == "all" ? ", encoder frozen throughout"
                                         : ", encoder frozen for the first " + freeze + " epochs";
  }
  const bool safe_name = std::all_of(arm.name.begin(), arm.name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
  require(safe_name, "arm name '" + arm.name + "' in " + where +
                         " may only hold letters, digits, '_', '-' and '.' (it names a folder)");
  return arm;
}

std::vector<ArmSpec> arms_of(const ExperimentConfig& config) {
  std::vector<ArmSpec> arms;
  for (const auto& text : config.experiment.arms)
    arms.push_back(parse_arm(text, "experiment.arms", config.train.train.max_epochs));
  return arms;
}

void validate(const ExperimentConfig& c) {
  check_speckle_axis(c);
  if (c.train.data.source == "synthetic") synth::validate(c.synth);
  const auto& e = c.experiment;
  require(!e.arms.empty(), "experiment.arms is empty: name at least two arms (imagenet, random)");
  const auto arms = arms_of(c);
  std::set<std::string> names;
  for (const auto& arm : arms)
    require(names.insert(arm.name).second,
            "experiment.arms names arm '" + arm.name + "' twice; give each arm its own name");
  require(names.count(e.reference_arm) > 0, "experiment.reference_arm '" + e.reference_arm +
                                                "' is not one of experiment.arms (" +
                                                join(e.arms, ", ") + ")");
  require(names.count(e.baseline_arm) > 0, "experiment.baseline_arm '" + e.baseline_arm +
                                               "' is not one of experiment.arms (" +
                                               join(e.arms, ", ") + ")");
  require(e.reference_arm != e.baseline_arm,
          "experiment.reference_arm and experiment.baseline_arm are the same arm");
  require(!e.seeds.empty(), "experiment.seeds is empty: give at least one seed, e.g. [1, 2, 3]");
  std::set<int64_t> seeds;
  for (int64_t seed : e.seeds) {
    require(seed >= 0, "experiment.seeds: seeds must not be negative");
    require(seeds.insert(seed).second,
            "experiment.seeds lists seed " + std::to_string(seed) + " twice");
  }
  for (const auto& season : e.test_seasons) {
    const io::Season parsed = io::parse_season(season);
    require(parsed != io::Season::kUnknown,
            "experiment.test_seasons: '" + season + "' is not a season (freeze-up, winter, melt)");
  }
  require(!e.evaluate.empty(), "experiment.evaluate is empty: use [last, best]");
  require(e.quicklooks_per_season >= 0, "experiment.quicklooks_per_season must not be negative");
  require(e.quicklook_size >= 16, "experiment.quicklook_size must be at least 16");
  require(!e.name.empty() && e.name.find('/') == std::string::npos,
          "experiment.name must be a plain folder name");
  std::set<double> fractions;
  for (double f : e.label_fractions) {
    require(f > 0.0 && f <= 1.0,
            "experiment.label_fractions: " + config::format_value(f) +
                " is not a share in (0, 1]; give shares of the labelled training scenes, e.g. "
                "[0.1, 0.25, 0.5, 1.0]");
    require(fractions.insert(f).second,
            "experiment.label_fractions lists " + config::format_value(f) + " twice");
  }
  parse_test_domains(c);
}

train::TrainConfig run_config(const ExperimentConfig& config, const ArmSpec& arm, int64_t seed,
                              const std::filesystem::path& run_dir) {
  train::TrainConfig run = config.train;
  run.model.init = arm.init;
  run.model.freeze_encoder_epochs = arm.freeze_encoder_epochs;
  run.train.seed = static_cast<uint64_t>(seed);
  run.output.dir = run_dir.string();
  return run;
}

}  // namespace sarseg::experiment
