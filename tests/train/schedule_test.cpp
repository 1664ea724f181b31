#include <gtest/gtest.h>

#include <cmath>

#include "sarseg/train/early_stopping.h"
#include "sarseg/train/scheduler.h"

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
