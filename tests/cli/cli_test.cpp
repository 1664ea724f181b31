// The command line contract: --version, --help (with the code's defaults), exit codes for usage
// errors.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "sarseg/experiment/config.h"
#include "sarseg/infer/options.h"
#include "sarseg/io/prediction_output.h"
#include "sarseg/models/decoders.h"
#include "sarseg/synth/splits.h"
#include "sarseg/synth/synth.h"
#include "sarseg/train/config.h"
#include "support/test_support.h"

namespace sarseg {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

// The text of `line` from `begin` up to the next run of two spaces (CLI11's column gap).
std::string field_at(const std::string& line, size_t begin) {
  const size_t end = line.find("  ", begin);
  return line.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// The default CLI11 shows for `option` ("--tile INT=1024  ..." gives "1024"): its help line is the
// one whose first word lists the option among its names; "" when it shows none. Fails the test
// when no line describes the option.
std::string shown_default(const std::string& help, const std::string& option) {
  for (const auto& line : lines_of(help)) {
    const size_t names_begin = line.find_first_not_of(' ');
    if (names_begin == std::string::npos || line[names_begin] != '-') continue;
    const size_t names_end = line.find(' ', names_begin);
    const std::string names = line.substr(names_begin, names_end - names_begin);
    bool listed = false;
    std::istringstream split(names);
    for (std::string name; std::getline(split, name, ',');)
      listed = listed || name == option;
    if (!listed) continue;
    if (names_end == std::string::npos || line.compare(names_end, 2, "  ") == 0) return "";
    const std::string type_and_default = field_at(line, names_end + 1);  // "INT=1024"
    const size_t equals = type_and_default.rfind('=');
    return equals == std::string::npos ? "" : type_and_default.substr(equals + 1);
  }
  ADD_FAILURE() << "no help line for " << option << " in:\n" << help;
  return "";
}

// The default shown for config key `key` ("  data.patch_size = 768   ..." gives "768").
std::string shown_key_default(const std::string& help, const std::string& key) {
  const std::string prefix = "  " + key + " = ";
  for (const auto& line : lines_of(help))
    if (line.compare(0, prefix.size(), prefix) == 0) return field_at(line, prefix.size());
  ADD_FAILURE() << "no help line for config key " << key << " in:\n" << help;
  return "";
}

std::string help_of(const std::string& command) {
  const auto result = testing::run_sarseg(command + " --help");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return result.output;
}

double number(const std::string& text) {
  try {
    return std::stod(text);
  } catch (const std::exception&) {
    ADD_FAILURE() << "'" << text << "' is not a number";
    return -12345.0;
  }
}

}  // namespace

TEST(Cli, VersionPrintsAndExitsZero) {
  const auto result = testing::run_sarseg("--version");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("sarseg "), std::string::npos);
  EXPECT_NE(result.output.find("LibTorch"), std::string::npos);
}

TEST(Cli, UnknownSubcommandIsUsageErrorOnOneLine) {
  const auto result = testing::run_sarseg("no-such-command");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("sarseg: error:"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find('\n'), result.output.size() - 1) << result.output;
}

TEST(Cli, HelpListsOptionsWithDefaults) {
  const std::string root = help_of("");
  EXPECT_EQ(shown_default(root, "--log-level"), "info");
  EXPECT_EQ(shown_default(root, "--threads"), "0");
  EXPECT_EQ(shown_default(root, "--version"), "");
}

TEST(Cli, InferenceHelpShowsTheTypedDefaults) {
  const infer::InferenceOptions defaults;
  for (const std::string command : {"eval", "predict"}) {
    SCOPED_TRACE(command);
    const std::string help = help_of(command);
    EXPECT_EQ(shown_default(help, "--tile"), std::to_string(defaults.tile));
    EXPECT_EQ(shown_default(help, "--overlap"), std::to_string(defaults.overlap));
    EXPECT_EQ(shown_default(help, "--blend"), defaults.blend);
    EXPECT_EQ(shown_default(help, "--batch"), std::to_string(defaults.batch));
    EXPECT_EQ(shown_default(help, "--precision"), defaults.precision);
    EXPECT_EQ(shown_default(help, "--device"), defaults.device);
    EXPECT_EQ(shown_default(help, "--checkpoint"), "");
  }
  EXPECT_EQ(shown_default(help_of("predict"), "--quicklook-size"),
            std::to_string(io::PredictOutputOptions{}.quicklook_max_side));
}

TEST(Cli, TrainAndExperimentHelpShowTheTypedDefaults) {
  const train::TrainConfig train_defaults;
  const experiment::ExperimentConfig experiment_defaults;
  for (const std::string command : {"train", "experiment"}) {
    SCOPED_TRACE(command);
    const std::string help = help_of(command);
    EXPECT_EQ(shown_key_default(help, "model.encoder"), train_defaults.model.encoder);
    EXPECT_EQ(shown_key_default(help, "model.init"), train_defaults.model.init);
    EXPECT_EQ(shown_key_default(help, "data.patch_size"),
              std::to_string(train_defaults.data.patch_size));
    EXPECT_DOUBLE_EQ(number(shown_key_default(help, "data.min_valid_fraction")),
                     train_defaults.data.min_valid_fraction);
    EXPECT_EQ(shown_key_default(help, "synth.size"), synth::SplitOptions{}.size);
    EXPECT_EQ(shown_key_default(help, "train.batch_size"),
              std::to_string(train_defaults.train.batch_size));
  }
  const std::string experiment = help_of("experiment");
  EXPECT_EQ(shown_default(experiment, "--profile"), "quick");
  EXPECT_EQ(shown_key_default(experiment, "inference.tile"),
            std::to_string(experiment_defaults.inference.tile));
  EXPECT_EQ(shown_key_default(experiment, "inference.overlap"),
            std::to_string(experiment_defaults.inference.overlap));
  EXPECT_EQ(shown_key_default(experiment, "experiment.name"), experiment_defaults.experiment.name);
}

TEST(Cli, SynthHelpShowsTheSimulatorDefaults) {
  const synth::SynthSpec spec;
  const std::string help = help_of("synth");
  EXPECT_EQ(shown_default(help, "--season"), io::to_string(spec.season));
  EXPECT_EQ(shown_default(help, "--size"),
            std::to_string(spec.height) + "x" + std::to_string(spec.width));
  EXPECT_DOUBLE_EQ(number(shown_default(help, "--pixel-spacing")), spec.pixel_spacing_m);
  EXPECT_DOUBLE_EQ(number(shown_default(help, "--looks")), spec.looks);
  EXPECT_EQ(shown_default(help, "--seed"), std::to_string(spec.seed));
  EXPECT_EQ(shown_default(help, "--label-mode"), synth::to_string(spec.label_mode));
  EXPECT_DOUBLE_EQ(number(shown_default(help, "--wind")), spec.wind_speed_ms);
  EXPECT_DOUBLE_EQ(number(shown_default(help, "--land-probability")), spec.land_probability);
  EXPECT_DOUBLE_EQ(number(shown_default(help, "--polygon-size")), spec.chart_polygon_size_km);
  EXPECT_EQ(shown_default(help, "--out"), "");
}

TEST(Cli, ModelsListsEveryRegisteredDecoder) {
  const auto result = testing::run_sarseg("models");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  for (const auto& info : models::decoder_registry()) {
    EXPECT_NE(result.output.find(info.name), std::string::npos) << info.name;
    EXPECT_NE(result.output.find(info.description), std::string::npos) << info.name;
  }
}

}  // namespace sarseg
