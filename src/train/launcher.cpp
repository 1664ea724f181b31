#include "sarseg/train/launcher.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include "sarseg/util/error.h"

extern char** environ;

namespace sarseg::train {
namespace {

// The ranks' pids, for the signal handler (async-signal-safe: plain reads and kill()).
constexpr int kMaxRanks = 1024;
volatile pid_t g_children[kMaxRanks];
volatile int g_child_count = 0;
volatile sig_atomic_t g_forwarded = 0;

void forward_signal(int signal) {
  g_forwarded = signal;
  for (int i = 0; i < g_child_count; ++i)
    if (g_children[i] > 0) kill(g_children[i], signal);
}

std::string describe_status(int rank, pid_t pid, int status) {
  const std::string who = "rank " + std::to_string(rank) + " (pid " + std::to_string(pid) + ")";
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    return who + " was killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  }
  return who + " exited with code " + std::to_string(WEXITSTATUS(status));
}

int exit_code_of(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace

int threads_per_process(const LaunchOptions& options, int cores) {
  if (options.threads_per_process > 0) return options.threads_per_process;
  return std::max(1, cores / std::max(1, options.nproc));
}

RankCommand rank_command(const std::string& program, const std::vector<std::string>& arguments,
                         const LaunchOptions& options, int rank, int port, int threads) {
  RankCommand command;
  command.argv = {program, "--threads", std::to_string(threads)};
  command.argv.insert(command.argv.end(), arguments.begin(), arguments.end());
  if (!options.torchrun_variables) {
    command.env = {{"OMP_NUM_THREADS", std::to_string(threads)}};
    return command;
  }
  command.env = {{"MASTER_ADDR", options.master_addr},
                 {"MASTER_PORT", std::to_string(port)},
                 {"WORLD_SIZE", std::to_string(options.nproc)},
                 {"RANK", std::to_string(rank)},
                 {"LOCAL_RANK", std::to_string(rank)},
                 {"LOCAL_WORLD_SIZE", std::to_string(options.nproc)},
                 {"OMP_NUM_THREADS", std::to_string(threads)}};
  return command;
}

int free_port(const std::string& address) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  require(fd >= 0, std::string("cannot open a socket to find a free port: ") + strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  const std::string host = address == "localhost" ? "127.0.0.1" : address;
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) addr.sin_addr.s_addr = INADDR_ANY;
  socklen_t length = sizeof(addr);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
  const std::string why = strerror(errno);
  close(fd);
  require(ok, "cannot find a free port on " + address + " (" + why + "); pass --master-port");
  return ntohs(addr.sin_port);
}

LaunchResult launch(const std::string& program, const std::vector<std::string>& arguments,
                    const LaunchOptions& options,
                    const std::function<void(const std::string&)>& on_event) {
  require(options.nproc >= 1 && options.nproc <= kMaxRanks,
          "--nproc must be between 1 and " + std::to_string(kMaxRanks));
  require(!arguments.empty(),
          "nothing to launch: give the command after --, e.g. "
          "sarseg launch --nproc 2 -- train -c CONFIG");
  require(options.grace_s >= 0, "--grace must not be negative");
  const auto say = [&](const std::string& line) {
    if (on_event) on_event(line);
  };
  const int port = !options.torchrun_variables ? 0
                   : options.master_port > 0   ? options.master_port
                                               : free_port(options.master_addr);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = threads_per_process(options, cores);
  say("launching " + std::to_string(options.nproc) + " processes (" + std::to_string(threads) +
      " threads each)" +
      (options.torchrun_variables
           ? ", rendezvous at " + options.master_addr + ":" + std::to_string(port)
           : std::string()));

  struct sigaction action {};
  action.sa_handler = forward_signal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {
  }, old_term{}, old_hup{};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  sigaction(SIGHUP, &action, &old_hup);
  g_forwarded = 0;

  std::vector<pid_t> pids(static_cast<size_t>(options.nproc), -1);
  g_child_count = 0;
  const pid_t parent = getpid();
  for (int rank = 0; rank < options.nproc; ++rank) {
    const RankCommand command = rank_command(program, arguments, options, rank, port, threads);
    // Everything the child needs is built before fork (only async-signal-safe calls after it).
    std::vector<std::string> env_text;
    for (char** e = environ; *e; ++e) {
      const std::string entry = *e;
      const std::string name = entry.substr(0, entry.find('='));
      const bool replaced = std::any_of(command.env.begin(), command.env.end(),
                                        [&](const auto& added) { return added.first == name; });
      if (!replaced) env_text.push_back(entry);
    }
    for (const auto& [name, value] : command.env)
      env_text.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (auto& e : env_text)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (const auto& a : command.argv)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      // Own process group: a terminal's Ctrl-C reaches the ranks once, through the launcher.
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // the launcher itself killed: the ranks stop too
      if (getppid() != parent) _exit(127);
      execve(program.c_str(), argv.data(), envp.data());
      _exit(127);
    }
    if (pid < 0) {
      forward_signal(SIGTERM);
      throw UserError(std::string("cannot start rank ") + std::to_string(rank) + ": " +
                      strerror(errno));
    }
    pids[static_cast<size_t>(rank)] = pid;
    g_children[rank] = pid;
    g_child_count = rank + 1;
  }

  LaunchResult result;
  int running = options.nproc;
  using Clock = std::chrono::steady_clock;
  Clock::time_point failed_at{};
  bool terminated = false, killed = false;
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      const auto it = std::find(pids.begin(), pids.end(), pid);
      if (it == pids.end()) continue;
      const int rank = static_cast<int>(it - pids.begin());
      g_children[rank] = -1;
      *it = -1;
      --running;
      if (status != 0) {
        const std::string line = describe_status(rank, pid, status);
        if (result.failed_rank < 0) {
          result.failed_rank = rank;
          result.exit_code = exit_code_of(status);
          result.message = line;
          failed_at = Clock::now();
          say(line + "; waiting up to " + std::to_string(static_cast<int>(options.grace_s)) +
              " s for the other ranks");
        } else {
          say(line);
        }
      }
      continue;
    }
    if (pid < 0 && errno != EINTR) break;
    if (result.failed_rank >= 0) {
      const double waited = std::chrono::duration<double>(Clock::now() - failed_at).count();
      if (!terminated && waited > options.grace_s) {
        say("stopping the remaining ranks (SIGTERM)");
        forward_signal(SIGTERM);
        terminated = true;
      } else if (terminated && !killed && waited > options.grace_s + 5) {
        forward_signal(SIGKILL);
        killed = true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  g_child_count = 0;
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  if (result.failed_rank < 0 && g_forwarded) {
    result.exit_code = 128 + g_forwarded;
    result.message = std::string("stopped by signal ") + strsignal(g_forwarded);
  }
  return result;
}

}  // namespace sarseg::train
