// `sarseg experiment`: the paper's study (ImageNet weights vs random init, arms x seeds) with a
// report. With no arguments it runs the embedded `quick` profile into runs/quick.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "sarseg/experiment/analysis.h"
#include "sarseg/experiment/config.h"
#include "sarseg/experiment/convergence.h"
#include "sarseg/experiment/domains.h"
#include "sarseg/experiment/label_efficiency.h"
#include "sarseg/experiment/plan.h"
#include "sarseg/experiment/runner.h"
#include "sarseg/train/launcher.h"
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
  // Runs spread over workers (experiment/plan.h).
  bool plan = false;
  std::vector<std::string> only;
  bool worker = false;
  bool assemble = false;
  int jobs = 0;
};

std::string this_program() {
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  require(n > 0, "cannot find this program's path (/proc/self/exe)");
  return std::string(path, static_cast<size_t>(n));
}

// The experiment arguments that select this study and its folder (what each worker repeats).
std::vector<std::string> study_arguments(const ExperimentArgs& args,
                                         const std::filesystem::path& out_dir) {
  std::vector<std::string> words = {"experiment", "--profile", args.profile};
  if (!args.config_file.empty()) words.insert(words.end(), {"--config", args.config_file});
  for (const auto& o : args.overrides)
    words.insert(words.end(), {"--set", o});
  words.insert(words.end(), {"--out", out_dir.string()});
  return words;
}

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
  const int modes = int(args.plan) + int(!args.only.empty()) + int(args.worker) +
                    int(args.assemble) + int(args.jobs > 0);
  require(modes <= 1,
          "--plan, --only, --worker, --assemble and --jobs are separate ways to run; "
          "give one of them");
  if (args.plan) {
    std::vector<std::string> base = {this_program()};
    const auto study = study_arguments(args, options.out_dir);
    base.insert(base.end(), study.begin(), study.end());
    for (const auto& line : experiment::plan_commands(config, base))
      std::printf("%s\n", line.c_str());
    return;
  }
  if (args.jobs > 0) {
    // N workers on this machine share the folder (claims keep them off each other's runs); then
    // the report.
    train::LaunchOptions launch;
    launch.nproc = args.jobs;
    launch.torchrun_variables = false;
    launch.grace_s = 1e9;  // a failed run does not stop the other workers
    auto worker_args = study_arguments(args, options.out_dir);
    worker_args.push_back("--worker");
    const auto launched =
        train::launch(this_program(), worker_args, launch, [](const std::string& line) {
          std::fprintf(stderr, "sarseg experiment --jobs: %s\n", line.c_str());
        });
    require(launched.exit_code == 0, "--jobs " + std::to_string(args.jobs) + ": a worker failed (" +
                                         launched.message +
                                         "); finished runs are kept: run the same command again");
    options.assemble = true;
  }
  options.only = args.only;
  options.assemble = options.assemble || args.assemble;
  options.write_report = !args.worker && args.only.empty();
  const auto outcome = experiment::run_experiment(config, options);
  if (!options.write_report) {
    std::printf("experiment %s: %lld trained, %lld resumed, %lld kept, %lld left to others\n",
                options.out_dir.string().c_str(), static_cast<long long>(outcome.runs_trained),
                static_cast<long long>(outcome.runs_resumed),
                static_cast<long long>(outcome.runs_reused),
                static_cast<long long>(outcome.runs_skipped));
    return;
  }
  const auto analysis = experiment::analyse(outcome.summary);
  std::printf("experiment %s: %zu runs (%lld trained, %lld resumed, %lld kept) in %.1f s\n",
              options.out_dir.string().c_str(),
              outcome.summary.runs.size() + outcome.summary.fraction_runs.size(),
              static_cast<long long>(outcome.runs_trained),
              static_cast<long long>(outcome.runs_resumed),
              static_cast<long long>(outcome.runs_reused), outcome.wall_seconds);
  for (const auto& verdict : analysis.verdicts)
    std::printf("  %s %s\n", verdict.question.c_str(),
                experiment::to_string(verdict.level).c_str());
  for (const auto& group : experiment::analyse_label_efficiency(outcome.summary).groups)
    std::printf("  %s %s\n", group.verdict.question.c_str(),
                experiment::to_string(group.verdict.level).c_str());
  for (const auto& domain : experiment::analyse_domains(outcome.summary, analysis))
    std::printf("  %s %s\n", domain.holds.question.c_str(),
                experiment::to_string(domain.holds.level).c_str());
  std::vector<experiment::RunResult> every_run = outcome.summary.runs;
  every_run.insert(every_run.end(), outcome.summary.fraction_runs.begin(),
                   outcome.summary.fraction_runs.end());
  std::printf("  convergence: %s\n", experiment::censored_text(every_run).c_str());
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
                  "embedded profile: " + join(experiment::profile_names(), ", ") +
                      " (or none: train defaults only)");
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
  cmd->add_flag("--plan", args->plan,
                "print one command per run (arm x seed), e.g. for a SLURM array or GNU parallel, "
                "and exit; then --assemble");
  cmd->add_option(
         "--only", args->only,
         "train only this run, ARM:SEED[:labelsFRACTION] (e.g. imagenet:3; repeatable); no report")
      ->allow_extra_args(false);
  cmd->add_flag("--worker", args->worker,
                "train every run no other worker has claimed, then exit without a report");
  cmd->add_flag("--assemble", args->assemble,
                "train nothing: write the report from the runs' result.json files");
  cmd->add_option("--jobs,-j", args->jobs,
                  "run the study as this many local worker processes (cores split), then the "
                  "report")
      ->check(CLI::Range(1, 256));
  cmd->footer("Config keys (section.key = default, before the profile):\n" +
              experiment::experiment_config_schema().help_text() +
              "docs/experiment.md explains the study, the profiles and the report.");
  cmd->callback([args] { run_experiment_command(*args); });
}

const CommandRegistration kRegistration{60, "experiment", add_experiment_command};

}  // namespace
}  // namespace sarseg::cli
