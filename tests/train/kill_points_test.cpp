// SIGKILL at 20 random moments of a tiny training run (any point: a batch, the validation, the
// checkpoint write), then `--resume` until it finishes: every run ends with weights bit-identical
// to the uninterrupted run. Each run is a forked child; the parent does no torch work until the
// children are done (a child of a process that already ran OpenMP regions may hang).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <random>
#include <thread>

#include "sarseg/util/error.h"
#include "support/test_support.h"
#include "tiny_config.h"

namespace fs = std::filesystem;
using namespace sarseg;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kKillPoints = 20;

std::vector<std::string> overrides(const fs::path& run_dir) {
  return sarseg::testing::tiny_train_overrides(run_dir, 3, 5, {"data.scale=0.1"});
}

pid_t spawn(const std::function<void()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    int code = 0;
    try {
      body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      code = dynamic_cast<const UserError*>(&e) ? 2 : 3;
    }
    std::fflush(nullptr);
    _exit(code);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// Trains (or resumes, when a checkpoint exists) in a child until the run finishes.
void finish(const fs::path& run_dir) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const bool resume = fs::exists(run_dir / "checkpoints" / "last.pt");
    const int status = wait_for(spawn([&] {
      if (resume)
        sarseg::testing::resume_tiny(run_dir);
      else
        sarseg::testing::train_tiny(overrides(run_dir));
    }));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    ADD_FAILURE() << run_dir << (resume ? ": resume" : ": fresh start") << " failed: " << status;
  }
}

}  // namespace

TEST(KillPoints, TwentyRandomSigkillsThenResumeEndWithIdenticalWeights) {
  sarseg::testing::TempDir dir;
  const fs::path straight = dir / "straight";
  const auto start = Clock::now();
  const int a = wait_for(spawn([&] { sarseg::testing::train_tiny(overrides(straight)); }));
  ASSERT_TRUE(WIFEXITED(a) && WEXITSTATUS(a) == 0) << a;
  const double run_seconds = std::chrono::duration<double>(Clock::now() - start).count();

  std::mt19937_64 rng(2026);
  std::uniform_real_distribution<double> moment(0.0, run_seconds);
  std::vector<fs::path> runs;
  int killed = 0, before_first_checkpoint = 0;
  for (int k = 0; k < kKillPoints; ++k) {
    const fs::path run = dir / ("killed" + std::to_string(k));
    const pid_t pid = spawn([&] { sarseg::testing::train_tiny(overrides(run)); });
    std::this_thread::sleep_for(std::chrono::duration<double>(moment(rng)));
    ::kill(pid, SIGKILL);
    const int status = wait_for(pid);
    killed += WIFSIGNALED(status) ? 1 : 0;
    before_first_checkpoint += fs::exists(run / "checkpoints" / "last.pt") ? 0 : 1;
    finish(run);
    runs.push_back(run);
  }
  std::printf("%d of %d runs killed (%d before their first checkpoint), run %.1f s\n", killed,
              kKillPoints, before_first_checkpoint, run_seconds);
  EXPECT_GE(killed, kKillPoints / 2);  // the rest finished before their moment came

  const auto expected = sarseg::testing::checkpoint_tensors(straight / "checkpoints" / "last.pt");
  for (const auto& run : runs) {
    const auto actual = sarseg::testing::checkpoint_tensors(run / "checkpoints" / "last.pt");
    ASSERT_EQ(expected.size(), actual.size()) << run;
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_TRUE(torch::equal(expected[i].second, actual[i].second))
          << run << ": " << expected[i].first;
  }
}
