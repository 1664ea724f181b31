// Progress display and fault switch of the training commands.
#include "train_progress.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "sarseg/util/error.h"
#include "sarseg/util/log.h"

namespace sarseg::cli {

TrainProgressDisplay::TrainProgressDisplay(const std::string& mode, double interval_s)
    : interval_s_(interval_s) {
  if (mode == "off") {
    kind_ = Kind::kOff;
  } else if (mode == "bar" || (mode == "auto" && isatty(STDERR_FILENO))) {
    kind_ = Kind::kBar;
  } else {
    kind_ = Kind::kLines;
  }
}

TrainProgressDisplay::~TrainProgressDisplay() {
  end_bar_line();
}

void TrainProgressDisplay::end_bar_line() {
  if (bar_drawn_) std::fputs("\n", stderr);
  bar_drawn_ = false;
}

void TrainProgressDisplay::update(const train::BatchProgress& p) {
  if (kind_ == Kind::kOff) return;
  if (p.epoch != epoch_) {
    epoch_ = p.epoch;
    last_line_s_ = 0;
  }
  if (kind_ == Kind::kBar) {
    const int width = 24;
    const int filled = p.batches > 0 ? static_cast<int>(width * p.batch / p.batches) : width;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    char text[256];
    std::snprintf(text, sizeof(text),
                  "\repoch %lld/%lld [%s] %lld/%lld loss %.4f %.1f samples/s ETA %.0fs   ",
                  static_cast<long long>(p.epoch), static_cast<long long>(p.max_epochs),
                  bar.c_str(), static_cast<long long>(p.batch), static_cast<long long>(p.batches),
                  p.mean_loss, p.samples_per_second, p.eta_seconds);
    std::fputs(text, stderr);
    std::fflush(stderr);
    bar_drawn_ = true;
    if (p.batch == p.batches) end_bar_line();  // the epoch's log line follows on its own line
  } else if (p.elapsed_seconds - last_line_s_ >= interval_s_) {
    last_line_s_ = p.elapsed_seconds;
    sarseg::log::info("epoch {}/{} batch {}/{} loss {:.4f} {:.1f} samples/s ETA {:.0f}s", p.epoch,
                      p.max_epochs, p.batch, p.batches, p.mean_loss, p.samples_per_second,
                      p.eta_seconds);
  }
}

std::function<train::FaultAction(int64_t, int64_t)> fault_hook_from_environment() {
  const char* env = std::getenv("SARSEG_TRAIN_FAULT");
  if (!env) return {};
  const std::string text = env;
  const auto at = text.find('@');
  const auto colon = text.find(':', at == std::string::npos ? 0 : at);
  const std::string kind = text.substr(0, at);
  char* end = nullptr;
  int64_t epoch = -1, batch = -1;
  if (at != std::string::npos && colon != std::string::npos) {
    const std::string epoch_text = text.substr(at + 1, colon - at - 1);
    const std::string batch_text = text.substr(colon + 1);
    epoch = std::strtoll(epoch_text.c_str(), &end, 10);
    if (epoch_text.empty() || *end) epoch = -1;
    batch = std::strtoll(batch_text.c_str(), &end, 10);
    if (batch_text.empty() || *end) batch = -1;
  }
  require((kind == "sigkill" || kind == "sigstop" || kind == "nan") && epoch >= 1 && batch >= 1,
          "SARSEG_TRAIN_FAULT='" + text +
              "' is not a fault: use sigkill@EPOCH:BATCH, sigstop@EPOCH:BATCH or nan@EPOCH:BATCH "
              "(a test "
              "switch), or "
              "unset it");
  // SARSEG_TRAIN_FAULT_RANK=R: only the process with RANK=R (several processes) is hit.
  if (const char* only = std::getenv("SARSEG_TRAIN_FAULT_RANK"); only && *only) {
    const char* rank = std::getenv("RANK");
    if (std::string(rank ? rank : "0") != only) return {};
  }
  const int signal = kind == "sigkill" ? SIGKILL : kind == "sigstop" ? SIGSTOP : 0;
  return [signal, epoch, batch](int64_t at_epoch, int64_t at_batch) {
    if (at_epoch != epoch || at_batch != batch) return train::FaultAction::kNone;
    if (signal) std::raise(signal);
    return train::FaultAction::kNanLoss;
  };
}

train::TrainCallbacks terminal_train_callbacks(const train::OutputSection& output) {
  train::TrainCallbacks callbacks;
  auto display = std::make_shared<TrainProgressDisplay>(output.progress, output.log_interval_s);
  callbacks.on_progress = [display](const train::BatchProgress& p) { display->update(p); };
  callbacks.inject_fault = fault_hook_from_environment();
  return callbacks;
}

}  // namespace sarseg::cli
