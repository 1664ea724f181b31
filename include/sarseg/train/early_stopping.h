// Early stopping on a monitored value (Lightning's EarlyStopping semantics): an epoch improves
// when the value beats the best by more than min_delta; training stops once `patience` epochs in a
// row did not improve, but never before min_epochs, and always at max_epochs.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

namespace sarseg::train {

class EarlyStopping {
 public:
  EarlyStopping(bool maximise, int64_t patience, double min_delta, int64_t min_epochs,
                int64_t max_epochs);
  // Records the value of `epoch` (1-based, completed); returns true when it improved.
  bool update(int64_t epoch, double value);
  // True when training should stop after `epoch`.
  bool should_stop(int64_t epoch) const;
  // Why should_stop() is true ("early stopping: ...", "max_epochs reached").
  std::string reason(int64_t epoch) const;

  double best() const { return best_; }
  int64_t best_epoch() const { return best_epoch_; }
  int64_t epochs_without_improvement() const { return wait_; }

  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  bool maximise_;
  int64_t patience_;
  double min_delta_;
  int64_t min_epochs_;
  int64_t max_epochs_;
  double best_;
  int64_t best_epoch_ = 0;
  int64_t wait_ = 0;
};

}  // namespace sarseg::train
