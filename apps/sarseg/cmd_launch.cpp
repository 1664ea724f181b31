// `sarseg launch --nproc N -- train -c CONFIG ...`: N processes of this program on this machine,
// joined into one data-parallel job (train/launcher.h); exits with the first failed rank's code.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "sarseg/train/launcher.h"
#include "sarseg/util/error.h"

namespace sarseg::cli {
namespace {

struct LaunchArgs {
  train::LaunchOptions options;
  std::vector<std::string> command;
};

std::string this_program() {
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  require(n > 0, "cannot find this program's path (/proc/self/exe)");
  return std::string(path, static_cast<size_t>(n));
}

void add_launch_command(CLI::App& root) {
  auto args = std::make_shared<LaunchArgs>();
  auto* cmd = root.add_subcommand(
      "launch", "run a command (e.g. train) as N data-parallel processes on this machine");
  cmd->add_option("--nproc,-n", args->options.nproc, "processes (ranks) to start")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--master-addr", args->options.master_addr, "rendezvous address (MASTER_ADDR)");
  cmd->add_option("--master-port", args->options.master_port,
                  "rendezvous port (MASTER_PORT); 0 = a free port")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--threads-per-process", args->options.threads_per_process,
                  "torch threads of each process; 0 = the cores divided by --nproc");
  cmd->add_option("--grace", args->options.grace_s,
                  "seconds the other ranks get to stop by themselves after one fails");
  cmd->add_option("command", args->command, "the sarseg command to run, after --")->required();
  cmd->footer(
      "Example: sarseg launch --nproc 2 -- train -c configs/train/quick.yaml\n"
      "Each rank gets MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK (as torchrun sets "
      "them);\ntrain.batch_size is per process. docs/distributed.md: SLURM, torchrun, faults.");
  cmd->callback([args] {
    const auto result = train::launch(
        this_program(), args->command, args->options,
        [](const std::string& line) { std::fprintf(stderr, "sarseg launch: %s\n", line.c_str()); });
    if (result.exit_code != 0) {
      std::fprintf(stderr, "sarseg launch: error: %s\n", result.message.c_str());
      std::fflush(nullptr);
      std::exit(result.exit_code);
    }
  });
}

const CommandRegistration kRegistration{45, "launch", add_launch_command};

}  // namespace
}  // namespace sarseg::cli
