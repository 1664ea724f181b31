// What the program adds to a training run: the progress display (output.progress) and the
// SARSEG_TRAIN_FAULT test switch, as callbacks for the library (which never prints).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "sarseg/train/config.h"
#include "sarseg/train/trainer.h"

namespace sarseg::cli {

// A bar on stderr (\r-redrawn) when `mode` is "bar", or "auto" on a terminal; otherwise ("lines",
// or "auto" elsewhere) a log line every `interval_s` seconds; "off" shows nothing.
class TrainProgressDisplay {
 public:
  TrainProgressDisplay(const std::string& mode, double interval_s);
  ~TrainProgressDisplay();  // ends a bar's line (e.g. when training stops with an error)
  TrainProgressDisplay(const TrainProgressDisplay&) = delete;
  TrainProgressDisplay& operator=(const TrainProgressDisplay&) = delete;

  void update(const train::BatchProgress& progress);

 private:
  void end_bar_line();
  enum class Kind { kOff, kBar, kLines };
  Kind kind_ = Kind::kLines;
  double interval_s_;
  int64_t epoch_ = -1;
  double last_line_s_ = 0;  // elapsed_seconds of the epoch at the last line
  bool bar_drawn_ = false;
};

// SARSEG_TRAIN_FAULT (tests, docs/config.md): "sigkill@E:B" kills the process with SIGKILL before
// batch B of epoch E ("sigstop@E:B" stops it: a hung peer); "nan@E:B" makes that batch's loss NaN.
// With SARSEG_TRAIN_FAULT_RANK=R only the process whose RANK is R is hit. An empty hook when unset;
// UserError when set to anything else.
std::function<train::FaultAction(int64_t epoch, int64_t batch)> fault_hook_from_environment();

// Progress as `output` says plus the fault hook: the callbacks `sarseg train` and `sarseg
// experiment` hand to the library.
train::TrainCallbacks terminal_train_callbacks(const train::OutputSection& output);

}  // namespace sarseg::cli
