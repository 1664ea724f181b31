#include "sarseg/train/scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sarseg/util/error.h"
#include "sarseg/util/find.h"
#include "sarseg/util/strings.h"

namespace sarseg::train {

PlateauSchedule::PlateauSchedule(double initial_lr, bool maximise, double factor, int64_t patience,
                                 double threshold, double min_lr)
    : lr_(initial_lr),
      maximise_(maximise),
      factor_(factor),
      patience_(patience),
      threshold_(threshold),
      min_lr_(min_lr),
      best_(0.0) {}

bool PlateauSchedule::better(double value) const {
  if (!has_best_) return true;
  return maximise_ ? value > best_ * (1.0 + threshold_) : value < best_ * (1.0 - threshold_);
}

double PlateauSchedule::step(double value) {
  if (better(value)) {
    best_ = value;
    has_best_ = true;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (bad_epochs_ > patience_) {
    const double reduced = std::max(lr_ * factor_, min_lr_);
    if (lr_ - reduced > 1e-8) lr_ = reduced;  // torch's eps
    bad_epochs_ = 0;
  }
  return lr_;
}

nlohmann::json PlateauSchedule::state() const {
  return {{"lr", lr_}, {"best", best_}, {"has_best", has_best_}, {"bad_epochs", bad_epochs_}};
}

void PlateauSchedule::load_state(const nlohmann::json& state) {
  lr_ = state.at("lr").get<double>();
  best_ = state.at("best").get<double>();
  has_best_ = state.at("has_best").get<bool>();
  bad_epochs_ = state.at("bad_epochs").get<int64_t>();
}

CosineWarmRestarts::CosineWarmRestarts(double base_lr, int64_t t0, int64_t t_mult, double eta_min)
    : base_lr_(base_lr), t0_(t0), t_mult_(t_mult), eta_min_(eta_min) {}

double CosineWarmRestarts::lr_at(double epoch) const {
  const double t0 = static_cast<double>(t0_);
  double t_cur = epoch;
  double t_i = t0;
  if (epoch >= t0) {
    if (t_mult_ == 1) {
      t_cur = std::fmod(epoch, t0);
    } else {
      // Walk the cycles instead of torch's log formula, which floors 1.9999 to 1 at boundaries.
      double start = 0.0;
      while (epoch >= start + t_i) {
        start += t_i;
        t_i *= static_cast<double>(t_mult_);
      }
      t_cur = epoch - start;
    }
  }
  const double pi = 3.14159265358979323846;
  return eta_min_ + (base_lr_ - eta_min_) * (1.0 + std::cos(pi * t_cur / t_i)) / 2.0;
}

namespace {

// ReduceLROnPlateau on the monitored value, once per epoch.
class Plateau : public LrSchedule {
 public:
  Plateau(const ScheduleSection& s, double base_lr, bool maximise)
      : plateau_(base_lr, maximise, s.plateau_factor, s.plateau_patience, s.plateau_threshold,
                 s.min_lr) {}
  std::optional<double> lr_after_epoch(int64_t, double monitored) override {
    return plateau_.step(monitored);
  }
  nlohmann::json state() const override { return plateau_.state(); }
  void load_state(const nlohmann::json& state) override { plateau_.load_state(state); }

 private:
  PlateauSchedule plateau_;
};

// Cosine annealing with warm restarts, set before every batch and at the end of each epoch.
class Cosine : public LrSchedule {
 public:
  Cosine(const ScheduleSection& s, double base_lr)
      : cosine_(base_lr, s.cosine_t0, s.cosine_t_mult, s.cosine_eta_min) {}
  std::optional<double> lr_for_batch(double epoch) override { return cosine_.lr_at(epoch); }
  std::optional<double> lr_after_epoch(int64_t epoch, double) override {
    return cosine_.lr_at(static_cast<double>(epoch));
  }

 private:
  CosineWarmRestarts cosine_;
};

// optim.lr throughout.
class Constant : public LrSchedule {};

}  // namespace

const std::vector<ScheduleInfo>& schedule_registry() {
  static const std::vector<ScheduleInfo> registry = {
      {"plateau", "ReduceLROnPlateau on the monitored value",
       [](const ScheduleSection& s, double base_lr, bool maximise) {
         return std::unique_ptr<LrSchedule>(std::make_unique<Plateau>(s, base_lr, maximise));
       }},
      {"cosine", "cosine annealing with warm restarts (stepped per batch)",
       [](const ScheduleSection& s, double base_lr, bool) {
         return std::unique_ptr<LrSchedule>(std::make_unique<Cosine>(s, base_lr));
       }},
      {"none", "constant optim.lr",
       [](const ScheduleSection&, double, bool) {
         return std::unique_ptr<LrSchedule>(std::make_unique<Constant>());
       }},
  };
  return registry;
}

std::vector<std::string> schedule_names() {
  return registered_names(schedule_registry());
}

const ScheduleInfo& find_schedule(const std::string& name) {
  return find_registered(schedule_registry(), name, "learning-rate schedule", "schedule.name");
}

std::unique_ptr<LrSchedule> make_schedule(const ScheduleSection& schedule, double base_lr,
                                          bool maximise) {
  return find_schedule(schedule.name).build(schedule, base_lr, maximise);
}

}  // namespace sarseg::train
