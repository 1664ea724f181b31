// Learning-rate schedules with saveable state (LibTorch 1.13 has neither of these).
//
// ReduceLROnPlateau follows torch.optim.lr_scheduler.ReduceLROnPlateau (threshold_mode "rel",
// cooldown 0): after more than `patience` epochs without a relative improvement of `threshold`,
// lr = max(lr * factor, min_lr). CosineWarmRestarts follows CosineAnnealingWarmRestarts and is a
// pure function of the (fractional) epoch, so stepping it per batch is exact on resume.
//
// The schedules of schedule.name are LrSchedule objects from schedule_registry(); the training
// loop asks one for the learning rate of each batch and after each epoch. A new schedule is one
// LrSchedule class and one registry entry (src/train/scheduler.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sarseg/train/config.h"

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

// A learning-rate schedule as the training loop drives it. nullopt keeps the current rate.
class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  // Before a training batch; `epoch` is fractional: (epoch - 1) + (batch - 1) / batches.
  virtual std::optional<double> lr_for_batch(double epoch) {
    (void)epoch;
    return std::nullopt;
  }
  // After validating `epoch` (1-based), with the monitored value.
  virtual std::optional<double> lr_after_epoch(int64_t epoch, double monitored) {
    (void)epoch;
    (void)monitored;
    return std::nullopt;
  }
  // Saved in the checkpoint so that a resumed run continues exactly.
  virtual nlohmann::json state() const { return nlohmann::json::object(); }
  virtual void load_state(const nlohmann::json& state) { (void)state; }
};

struct ScheduleInfo {
  std::string name;
  std::string description;  // one line for help texts
  // `base_lr` is optim.lr; `maximise` says whether a larger monitored value is better.
  std::function<std::unique_ptr<LrSchedule>(const ScheduleSection& schedule, double base_lr,
                                            bool maximise)>
      build;
};

const std::vector<ScheduleInfo>& schedule_registry();
std::vector<std::string> schedule_names();  // registry order: "plateau", "cosine", "none"
// UserError listing the valid names when unknown.
const ScheduleInfo& find_schedule(const std::string& name);
std::unique_ptr<LrSchedule> make_schedule(const ScheduleSection& schedule, double base_lr,
                                          bool maximise);

}  // namespace sarseg::train
