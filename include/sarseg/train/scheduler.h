// Learning-rate schedules with saveable state (LibTorch 1.13 has neither of these).
//
// ReduceLROnPlateau follows torch.optim.lr_scheduler.ReduceLROnPlateau (threshold_mode "rel",
// cooldown 0): after more than `patience` epochs without a relative improvement of `threshold`,
// lr = max(lr * factor, min_lr). CosineWarmRestarts follows CosineAnnealingWarmRestarts and is a
// pure function of the (fractional) epoch, so stepping it per batch is exact on resume.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace sarseg::train {

class PlateauSchedule {
 public:
  PlateauSchedule(double initial_lr, bool maximise, double factor, int64_t patience,
                  double threshold, double min_lr);
  // Called once per epoch with the monitored value; returns the learning rate to use next.
  double step(double value);
  double lr() const { return lr_; }
  int64_t bad_epochs() const { return bad_epochs_; }

  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  bool better(double value) const;
  double lr_;
  bool maximise_;
  double factor_;
  int64_t patience_;
  double threshold_;
  double min_lr_;
  double best_;
  bool has_best_ = false;
  int64_t bad_epochs_ = 0;
};

class CosineWarmRestarts {
 public:
  CosineWarmRestarts(double base_lr, int64_t t0, int64_t t_mult, double eta_min);
  // Learning rate at a fractional epoch (epoch 0 = start of training).
  double lr_at(double epoch) const;

 private:
  double base_lr_;
  int64_t t0_;
  int64_t t_mult_;
  double eta_min_;
};

}  // namespace sarseg::train
