#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "sarseg/train/early_stopping.h"
#include "sarseg/train/scheduler.h"
#include "sarseg/util/error.h"

using namespace sarseg;

TEST(PlateauSchedule, ReducesAfterPatienceLikeTorch) {
  // lr 1, factor 0.1, patience 2, threshold 0.1 (relative), min_lr 0.005.
  train::PlateauSchedule s(1.0, false, 0.1, 2, 0.1, 0.005);
  EXPECT_DOUBLE_EQ(s.step(10.0), 1.0);   // best 10
  EXPECT_DOUBLE_EQ(s.step(9.5), 1.0);    // not < 10 * 0.9: bad 1
  EXPECT_DOUBLE_EQ(s.step(8.9), 1.0);    // < 9: best 8.9, bad 0
  EXPECT_DOUBLE_EQ(s.step(9.0), 1.0);    // bad 1
  EXPECT_DOUBLE_EQ(s.step(9.0), 1.0);    // bad 2
  EXPECT_NEAR(s.step(9.0), 0.1, 1e-15);  // bad 3 > patience: reduce, reset
  EXPECT_NEAR(s.step(9.0), 0.1, 1e-15);
  EXPECT_NEAR(s.step(9.0), 0.1, 1e-15);
  EXPECT_NEAR(s.step(9.0), 0.01, 1e-15);
  for (int i = 0; i < 3; ++i)
    s.step(9.0);
  EXPECT_NEAR(s.lr(), 0.005, 1e-15);  // clamped at min_lr
  for (int i = 0; i < 8; ++i)
    s.step(9.0);
  EXPECT_NEAR(s.lr(), 0.005, 1e-15);

  // Save/load continues identically.
  train::PlateauSchedule a(1.0, true, 0.5, 1, 0.0, 0.0), b(1.0, true, 0.5, 1, 0.0, 0.0);
  a.step(1.0);
  a.step(0.5);
  b.load_state(a.state());
  for (double v : {0.4, 2.0, 1.0, 1.0, 3.0, 0.0, 0.0})
    EXPECT_DOUBLE_EQ(a.step(v), b.step(v));
}

TEST(PlateauSchedule, NanCountsAsNoImprovement) {
  train::PlateauSchedule s(1.0, false, 0.5, 0, 0.0, 0.0);
  s.step(1.0);
  EXPECT_DOUBLE_EQ(s.step(NAN), 0.5);
}

TEST(CosineWarmRestarts, MatchesTheClosedForm) {
  const double pi = std::acos(-1.0);
  train::CosineWarmRestarts c(1.0, 10, 1, 0.1);
  EXPECT_DOUBLE_EQ(c.lr_at(0), 1.0);
  EXPECT_NEAR(c.lr_at(5), 0.1 + 0.9 * 0.5, 1e-12);
  EXPECT_NEAR(c.lr_at(2.5), 0.1 + 0.9 * (1 + std::cos(pi * 0.25)) / 2, 1e-12);
  EXPECT_NEAR(c.lr_at(10), 1.0, 1e-12);  // restart
  EXPECT_NEAR(c.lr_at(17), 0.1 + 0.9 * (1 + std::cos(pi * 0.7)) / 2, 1e-12);
  // T_mult 2: cycles of 2, 4, 8 epochs starting at 0, 2, 6, 14.
  train::CosineWarmRestarts d(1.0, 2, 2, 0.0);
  EXPECT_NEAR(d.lr_at(1), 0.5, 1e-12);
  EXPECT_NEAR(d.lr_at(2), 1.0, 1e-12);
  EXPECT_NEAR(d.lr_at(4), 0.5, 1e-12);  // middle of the 4-epoch cycle
  EXPECT_NEAR(d.lr_at(6), 1.0, 1e-12);
  EXPECT_NEAR(d.lr_at(8), (1 + std::cos(pi * 0.25)) / 2, 1e-12);
}

TEST(EarlyStopping, PatienceMinDeltaAndMinEpochs) {
  train::EarlyStopping e(false, 2, 0.1, 5, 100);
  EXPECT_TRUE(e.update(1, 1.0));
  EXPECT_FALSE(e.update(2, 0.95));  // not better by more than 0.1
  EXPECT_FALSE(e.update(3, 0.93));
  EXPECT_EQ(e.epochs_without_improvement(), 2);
  EXPECT_FALSE(e.should_stop(3));  // patience reached but min_epochs 5 not yet
  EXPECT_FALSE(e.update(4, 0.92));
  EXPECT_FALSE(e.should_stop(4));
  EXPECT_FALSE(e.update(5, 0.91));
  EXPECT_TRUE(e.should_stop(5));
  EXPECT_EQ(e.best_epoch(), 1);
  EXPECT_DOUBLE_EQ(e.best(), 1.0);

  train::EarlyStopping m(true, 1, 0.0, 0, 3);
  EXPECT_TRUE(m.update(1, 0.5));
  EXPECT_TRUE(m.update(2, 0.6));
  EXPECT_FALSE(m.should_stop(2));
  EXPECT_TRUE(m.update(3, 0.7));
  EXPECT_TRUE(m.should_stop(3));  // max_epochs
  EXPECT_EQ(m.reason(3), "max_epochs reached");

  train::EarlyStopping off(false, 0, 0.0, 0, 10);
  for (int i = 1; i < 10; ++i) {
    off.update(i, 1.0);
    EXPECT_FALSE(off.should_stop(i));
  }
  train::EarlyStopping restored(false, 2, 0.1, 5, 100);
  restored.load_state(e.state());
  EXPECT_EQ(restored.epochs_without_improvement(), 4);
  EXPECT_EQ(restored.best_epoch(), 1);
}

namespace {
std::string user_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no UserError)";
}
}  // namespace

TEST(ScheduleRegistry, NamesAndUnknownNameListsThem) {
  EXPECT_EQ(train::schedule_names(), (std::vector<std::string>{"plateau", "cosine", "none"}));
  for (const auto& info : train::schedule_registry()) {
    EXPECT_FALSE(info.description.empty()) << info.name;
    EXPECT_EQ(&train::find_schedule(info.name), &info);
  }
  train::ScheduleSection section;
  section.name = "step";
  const auto message = user_error_of([&] { train::make_schedule(section, 1.0, false); });
  EXPECT_NE(message.find("'step'"), std::string::npos) << message;
  EXPECT_NE(message.find("use one of plateau, cosine, none"), std::string::npos) << message;
}

TEST(ScheduleRegistry, EntriesDriveTheLearningRateLikeTheSchedules) {
  train::ScheduleSection section;
  section.plateau_patience = 1;
  section.plateau_factor = 0.5;
  section.min_lr = 0.0;
  section.cosine_t0 = 3;
  section.cosine_t_mult = 2;
  section.cosine_eta_min = 0.01;

  section.name = "plateau";
  auto plateau = train::make_schedule(section, 1.0, false);
  train::PlateauSchedule reference(1.0, false, 0.5, 1, section.plateau_threshold, 0.0);
  EXPECT_FALSE(plateau->lr_for_batch(0.5).has_value());  // only after an epoch
  for (double value : {5.0, 5.0, 5.0, 4.0, 4.0, 4.0}) {
    const auto lr = plateau->lr_after_epoch(1, value);
    ASSERT_TRUE(lr.has_value());
    EXPECT_DOUBLE_EQ(*lr, reference.step(value));
  }
  EXPECT_LT(reference.lr(), 1.0);  // it did reduce
  // Its state continues in a fresh schedule.
  auto resumed = train::make_schedule(section, 1.0, false);
  resumed->load_state(plateau->state());
  EXPECT_DOUBLE_EQ(*resumed->lr_after_epoch(7, 4.0), *plateau->lr_after_epoch(7, 4.0));

  section.name = "cosine";
  auto cosine = train::make_schedule(section, 0.1, false);
  train::CosineWarmRestarts closed(0.1, 3, 2, 0.01);
  for (double epoch : {0.0, 0.25, 2.5, 3.0, 7.75})
    EXPECT_DOUBLE_EQ(*cosine->lr_for_batch(epoch), closed.lr_at(epoch)) << epoch;
  EXPECT_DOUBLE_EQ(*cosine->lr_after_epoch(4, 123.0), closed.lr_at(4.0));

  section.name = "none";
  auto constant = train::make_schedule(section, 0.1, false);
  EXPECT_FALSE(constant->lr_for_batch(1.5).has_value());
  EXPECT_FALSE(constant->lr_after_epoch(2, 1.0).has_value());
}
