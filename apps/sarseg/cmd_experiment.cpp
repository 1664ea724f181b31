// `sarseg experiment`: the paper's study (ImageNet weights vs random init, arms x seeds) with a
// report. With no arguments it runs the embedded `quick` profile into runs/quick.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "sarseg/experiment/analysis.h"
#include "sarseg/experiment/config.h"
#include "sarseg/experiment/runner.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"
#include "train_progress.h"

namespace sarseg::cli {
namespace {

struct ExperimentArgs {
  std::string profile = "quick";
  std::string config_file;
  std::vector<std::string> overrides;
  std::string out_dir;
  bool print_config = false;
  bool list_profiles = false;
};

void run_experiment_command(const ExperimentArgs& args) {
  if (args.list_profiles) {
    for (const auto& name : experiment::profile_names()) {
      // The first comment line after the title says what the profile is.
      const auto lines = split(experiment::profile_yaml(name), '\n');
      std::printf("%-8s %s\n", name.c_str(), lines.empty() ? "" : lines.front().c_str());
    }
    return;
  }
  std::optional<std::filesystem::path> file;
  if (!args.config_file.empty()) file = args.config_file;
  const auto config = experiment::load_experiment_config(args.profile, file, args.overrides);
  if (args.print_config) {
    std::fputs(experiment::experiment_config_schema().to_yaml(config).c_str(), stdout);
    return;
  }
  experiment::RunnerOptions options;
  options.profile = args.profile;
  options.train_callbacks = terminal_train_callbacks(config.train.output);
  options.out_dir = args.out_dir.empty() ? std::filesystem::path("runs") / config.experiment.name
                                         : std::filesystem::path(args.out_dir);
  const auto outcome = experiment::run_experiment(config, options);
  const auto analysis = experiment::analyse(outcome.summary);
  std::printf("experiment %s: %zu runs (%lld trained, %lld resumed, %lld kept) in %.1f s\n",
              options.out_dir.string().c_str(), outcome.summary.runs.size(),
              static_cast<long long>(outcome.runs_trained),
              static_cast<long long>(outcome.runs_resumed),
              static_cast<long long>(outcome.runs_reused), outcome.wall_seconds);
  for (const auto& verdict : analysis.verdicts)
    std::printf("  %s %s\n", verdict.question.c_str(),
                experiment::to_string(verdict.level).c_str());
  std::printf("report: %s\n        %s\n        %s\n", outcome.report.html.string().c_str(),
              outcome.report.markdown.string().c_str(),
              outcome.report.summary_json.string().c_str());
}

void add_experiment_command(CLI::App& root) {
  auto args = std::make_shared<ExperimentArgs>();
  auto* cmd = root.add_subcommand(
      "experiment",
      "the paper's study: ImageNet vs random init over seeds, per-season test metrics, report");
  cmd->add_option("--profile,-p", args->profile,
                  "embedded profile: quick, paper, autoice (or none: train defaults only)");
  cmd->add_option("--config,-c", args->config_file,
                  "YAML file applied on top of the profile (same keys as --set)");
  cmd->add_option("--set", args->overrides,
                  "override a config key: --set section.key=value (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--out,-o", args->out_dir,
                  "experiment folder (default runs/<experiment.name>); rerunning with the same "
                  "folder keeps finished runs and resumes the unfinished one");
  cmd->add_flag("--print-config", args->print_config,
                "print the resolved configuration as YAML and exit");
  cmd->add_flag("--list-profiles", args->list_profiles, "list the embedded profiles and exit");
  cmd->footer("Config keys (section.key = default, before the profile):\n" +
              experiment::experiment_config_schema().help_text() +
              "docs/experiment.md explains the study, the profiles and the report.");
  cmd->callback([args] { run_experiment_command(*args); });
}

const CommandRegistration kRegistration{60, "experiment", add_experiment_command};

}  // namespace
}  // namespace sarseg::cli
