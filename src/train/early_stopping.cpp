#include "sarseg/train/early_stopping.h"

#include <string>

namespace sarseg::train {

EarlyStopping::EarlyStopping(bool maximise, int64_t patience, double min_delta, int64_t min_epochs,
                             int64_t max_epochs)
    : maximise_(maximise),
      patience_(patience),
      min_delta_(min_delta),
      min_epochs_(min_epochs),
      max_epochs_(max_epochs),
      best_(maximise ? -std::numeric_limits<double>::infinity()
                     : std::numeric_limits<double>::infinity()) {}

bool EarlyStopping::update(int64_t epoch, double value) {
  const bool improved = maximise_ ? value > best_ + min_delta_ : value < best_ - min_delta_;
  if (improved) {
    best_ = value;
    best_epoch_ = epoch;
    wait_ = 0;
  } else {
    ++wait_;
  }
  return improved;
}

bool EarlyStopping::should_stop(int64_t epoch) const {
  if (epoch >= max_epochs_) return true;
  return patience_ > 0 && wait_ >= patience_ && epoch >= min_epochs_;
}

std::string EarlyStopping::reason(int64_t epoch) const {
  if (epoch >= max_epochs_) return "max_epochs reached";
  return "early stopping: no improvement for " + std::to_string(wait_) + " epochs (patience " +
         std::to_string(patience_) + ")";
}

nlohmann::json EarlyStopping::state() const {
  return {{"best", best_}, {"best_epoch", best_epoch_}, {"wait", wait_}};
}

void EarlyStopping::load_state(const nlohmann::json& state) {
  best_ = state.at("best").get<double>();
  best_epoch_ = state.at("best_epoch").get<int64_t>();
  wait_ = state.at("wait").get<int64_t>();
}

}  // namespace sarseg::train
