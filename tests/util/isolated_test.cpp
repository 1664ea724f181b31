#include "sarseg/util/isolated.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace sarseg {
namespace {

using namespace std::chrono_literals;
using Kind = IsolatedOutcome::Kind;

TEST(RunIsolated, ReturnsTheWorksValue) {
  const IsolatedOutcome zero = run_isolated([] { return 0; }, 10s);
  EXPECT_EQ(zero.kind, Kind::kFinished);
  EXPECT_EQ(zero.value, 0);
  const IsolatedOutcome negative = run_isolated([] { return -101; }, 10s);
  EXPECT_EQ(negative.kind, Kind::kFinished);
  EXPECT_EQ(negative.value, -101);
  const IsolatedOutcome threw = run_isolated([]() -> int { throw std::runtime_error("x"); }, 10s);
  EXPECT_EQ(threw.kind, Kind::kFailed);
  EXPECT_EQ(run_isolated([]() -> int { _exit(3); }, 10s).exit_code, 3);
}

TEST(RunIsolated, ACrashInTheChildIsAnOutcomeNotTheEndOfTheCaller) {
  const IsolatedOutcome crashed = run_isolated(
      [] {
        std::fputs("this line must not reach the test's output\n", stderr);
        raise(SIGSEGV);
        return 0;
      },
      10s);
  ASSERT_EQ(crashed.kind, Kind::kCrashed);
  EXPECT_EQ(crashed.signal, SIGSEGV);
  EXPECT_EQ(crashed.describe(), "crashed (SIGSEGV)");
  EXPECT_EQ(run_isolated([] { return abort(), 0; }, 10s).kind, Kind::kCrashed);
}

TEST(RunIsolated, AHangingChildIsKilledAtTheDeadline) {
  const auto start = std::chrono::steady_clock::now();
  const IsolatedOutcome hung = run_isolated(
      [] {
        std::this_thread::sleep_for(60s);
        return 0;
      },
      300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(hung.kind, Kind::kTimedOut);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
}

TEST(RunIsolated, TheChildWorksOnACopyOfTheCallersMemory) {
  int value = 1;
  EXPECT_EQ(run_isolated(
                [&] {
                  value = 2;
                  return value;
                },
                10s)
                .value,
            2);
  EXPECT_EQ(value, 1);
}

}  // namespace
}  // namespace sarseg
