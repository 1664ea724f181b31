// The local launcher behind `sarseg launch --nproc N -- train ...`: N processes of the program on
// this machine, with the torchrun-style variables that train/distributed.h reads (MASTER_ADDR,
// MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE) and the cores split between them.
// Torch-free.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace sarseg::train {

struct LaunchOptions {
  int nproc = 2;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;          // 0: a free port of master_addr
  int threads_per_process = 0;  // torch threads per process; 0: the cores / nproc (at least 1)
  double grace_s = 60;          // after a rank fails, the others get this long to stop
  // false: independent workers (sarseg experiment --jobs), not one job: no rendezvous variables.
  bool torchrun_variables = true;
};

// The program arguments and the environment additions of one rank.
struct RankCommand {
  std::vector<std::string> argv;  // argv[0] is the program
  std::vector<std::pair<std::string, std::string>> env;
};

// `program` with `--threads K` before `arguments`, and the rank's variables (pure).
RankCommand rank_command(const std::string& program, const std::vector<std::string>& arguments,
                         const LaunchOptions& options, int rank, int port, int threads);

// Threads per process for `options` on a machine with `cores` cores.
int threads_per_process(const LaunchOptions& options, int cores);

// A TCP port on `address` that nothing listens on now (the kernel's choice for port 0).
int free_port(const std::string& address);

struct LaunchResult {
  int exit_code = 0;     // 0 when every rank exited 0; else the first failure's (128+signal)
  int failed_rank = -1;  // the first rank that failed
  std::string message;   // "rank 1 (pid 123) was killed by signal 9 (Killed)", or empty
};

// Starts the ranks, forwards SIGINT, SIGTERM and SIGHUP to them, and waits. When a rank fails,
// the others get options.grace_s seconds to stop (a training rank notices a lost peer by itself),
// then SIGTERM and, 5 s later, SIGKILL. `on_event` hears start and failure lines (the library
// never prints). UserError when the options are unusable.
LaunchResult launch(const std::string& program, const std::vector<std::string>& arguments,
                    const LaunchOptions& options,
                    const std::function<void(const std::string&)>& on_event = {});

}  // namespace sarseg::train
