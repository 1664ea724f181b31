#include "sarseg/util/isolated.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

// Present only in builds with a sanitizer runtime (weak: null otherwise). In such a build a
// memory error in the child is reported by the sanitizer, not by a signal; the callback makes the
// child exit with kSanitizerStopCode before a fuzzer's own callback writes a crash file.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace sarseg {
namespace {

constexpr int kSanitizerStopCode = 86;

[[noreturn]] void exit_after_sanitizer_report() {
  _exit(kSanitizerStopCode);
}

void prepare_child() {
  const int null_fd = open("/dev/null", O_WRONLY);
  if (null_fd >= 0) {
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    close(null_fd);
  }
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  // Die of the signal itself, whatever handlers the parent (or a sanitizer) installed.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    sigaction(sig, &default_action, nullptr);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(exit_after_sanitizer_report);
}

IsolatedOutcome outcome_of(int status, bool got_value, int value) {
  IsolatedOutcome outcome;
  if (WIFSIGNALED(status)) {
    outcome.kind = IsolatedOutcome::Kind::kCrashed;
    outcome.signal = WTERMSIG(status);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == kSanitizerStopCode) {
    outcome.kind = IsolatedOutcome::Kind::kCrashed;
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && got_value) {
    outcome.kind = IsolatedOutcome::Kind::kFinished;
    outcome.value = value;
  } else {
    outcome.kind = IsolatedOutcome::Kind::kFailed;
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  return outcome;
}

// The child's value, once it has exited (the pipe holds it or nothing).
bool read_value(int fd, int& value) {
  ssize_t got = -1;
  do {
    got = read(fd, &value, sizeof value);
  } while (got < 0 && errno == EINTR);
  return got == static_cast<ssize_t>(sizeof value);
}

void write_value(int fd, int value) {
  ssize_t put = -1;
  do {
    put = write(fd, &value, sizeof value);
  } while (put < 0 && errno == EINTR);
}

}  // namespace

std::string IsolatedOutcome::describe() const {
  switch (kind) {
    case Kind::kFinished:
      return "finished (value " + std::to_string(value) + ")";
    case Kind::kFailed:
      return "failed (exit code " + std::to_string(exit_code) + ")";
    case Kind::kCrashed:
      if (signal == 0) return "crashed (a memory error, stopped by the sanitizer)";
      if (const char* name = sigabbrev_np(signal)) return std::string("crashed (SIG") + name + ")";
      return "crashed (signal " + std::to_string(signal) + ")";
    case Kind::kTimedOut:
      return "did not finish in time";
    case Kind::kNotRun:
      break;
  }
  return "was not run (no child process could be started)";
}

IsolatedOutcome run_isolated(const std::function<int()>& work, std::chrono::milliseconds timeout) {
  int value_pipe[2];
  if (pipe2(value_pipe, O_CLOEXEC) != 0) return {};
  std::fflush(nullptr);  // else buffered output would be written by both processes
  const pid_t pid = fork();
  if (pid < 0) {
    close(value_pipe[0]);
    close(value_pipe[1]);
    return {};
  }
  if (pid == 0) {
    close(value_pipe[0]);
    prepare_child();
    int code = 1;
    try {
      write_value(value_pipe[1], work());
      code = 0;
    } catch (...) {
      code = 1;
    }
    _exit(code);
  }
  close(value_pipe[1]);
  // Poll rather than block, so that a hanging child is killed at the deadline; the interval grows
  // so that a quick child costs little and a slow one little CPU.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto interval = std::chrono::microseconds(50);
  int status = 0;
  IsolatedOutcome outcome;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      int value = 0;
      const bool got_value = read_value(value_pipe[0], value);
      outcome = outcome_of(status, got_value, value);
      break;
    }
    if (done < 0 && errno != EINTR) break;  // ECHILD: SIGCHLD ignored, outcome unknown
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      outcome.kind = IsolatedOutcome::Kind::kTimedOut;
      break;
    }
    std::this_thread::sleep_for(interval);
    interval = std::min(interval * 2, std::chrono::microseconds(10000));
  }
  close(value_pipe[0]);
  return outcome;
}

}  // namespace sarseg
