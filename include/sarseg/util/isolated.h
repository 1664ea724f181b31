// Runs a piece of work in a forked child process, so that a crash or a hang inside a third-party
// library becomes an outcome the caller can refuse instead of the end of sarseg. Used where a
// library is known to crash on hostile input: Debian's libhdf5 1.10 on corrupted netCDF-4 files
// (fuzz/library-findings/).
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace sarseg {

struct IsolatedOutcome {
  enum class Kind {
    kFinished,  // the work returned: `value` is what it returned
    kFailed,    // the work threw, or the child ended otherwise without a value (exit_code)
    kCrashed,   // the child died of a signal, or a sanitizer stopped it
    kTimedOut,  // the child was still running at the deadline and was killed
    kNotRun,    // no child could be started (fork or pipe failed): the caller decides
  };
  Kind kind = Kind::kNotRun;
  int value = 0;      // kFinished
  int exit_code = 0;  // kFailed
  int signal = 0;     // kCrashed by a signal (0: stopped by a sanitizer)
  // "crashed (SIGSEGV)", "did not finish in time", ...
  std::string describe() const;
};

// Forks; the child runs `work`, sends its return value back through a pipe and exits without
// running exit handlers. The child writes nothing (its stdout and stderr go to /dev/null) and no
// core file. The caller's other threads are not in the child, so `work` must not need them (no
// torch, no locks other threads could hold at the fork). Waits at most `timeout`, then kills the
// child.
IsolatedOutcome run_isolated(const std::function<int()>& work, std::chrono::milliseconds timeout);

}  // namespace sarseg
