// Exact resume: a training process killed with SIGKILL in the middle of an epoch and resumed ends
// with bit-identical weights to an uninterrupted run with the same seed.
//
// Each run is a forked child process; the parent does no torch work until the children are done
// (a child of a process that already ran OpenMP regions may hang).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <functional>

#include "sarseg/checkpoint/checkpoint.h"
#include "sarseg/train/trainer.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/strings.h"
#include "support/test_support.h"
#include "tiny_config.h"

namespace fs = std::filesystem;
using namespace sarseg;

namespace {

std::vector<std::string> tiny_overrides(const fs::path& run_dir, int epochs) {
  return sarseg::testing::tiny_train_overrides(run_dir, epochs, 5, {"data.scale=0.1"});
}

// Runs `body` in a child process; returns its wait status.
int in_child(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    int code = 3;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    }
    std::fflush(nullptr);
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

std::vector<std::string> lines_of(const fs::path& path) {
  std::vector<std::string> lines;
  for (const auto& line : split(read_file(path), '\n'))
    if (!line.empty()) lines.push_back(line);
  return lines;
}

}  // namespace

TEST(Resume, SigkillMidEpochThenResumeEndsWithTheSameWeights) {
  sarseg::testing::TempDir dir;
  const fs::path straight = dir / "straight", killed = dir / "killed";
  const int a = in_child([&] {
    sarseg::testing::train_tiny(tiny_overrides(straight, 3));
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(a) && WEXITSTATUS(a) == 0) << a;
  const int b = in_child([&] {
    // What the program's SARSEG_TRAIN_FAULT=sigkill@2:2 hook does.
    train::TrainCallbacks callbacks;
    callbacks.inject_fault = [](int64_t epoch, int64_t batch) {
      if (epoch == 2 && batch == 2) std::raise(SIGKILL);
      return train::FaultAction::kNone;
    };
    sarseg::testing::train_tiny(tiny_overrides(killed, 3), callbacks);
    return 0;
  });
  ASSERT_TRUE(WIFSIGNALED(b) && WTERMSIG(b) == SIGKILL) << b;
  // Killed in epoch 2: the run directory holds epoch 1 only.
  ASSERT_EQ(lines_of(killed / "metrics.csv").size(), 2u);
  const int c = in_child([&] {
    sarseg::testing::resume_tiny(killed);
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(c) && WEXITSTATUS(c) == 0) << c;

  EXPECT_EQ(checkpoint::read_checkpoint_meta(killed / "checkpoints" / "last.pt").epoch, 3);
  const auto expected = sarseg::testing::checkpoint_tensors(straight / "checkpoints" / "last.pt");
  const auto actual = sarseg::testing::checkpoint_tensors(killed / "checkpoints" / "last.pt");
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i].first, actual[i].first);
    EXPECT_TRUE(torch::equal(expected[i].second, actual[i].second)) << expected[i].first;
  }
  // The per-epoch losses agree too (columns 1-2 of metrics.csv).
  const auto csv_a = lines_of(straight / "metrics.csv"), csv_b = lines_of(killed / "metrics.csv");
  ASSERT_EQ(csv_a.size(), 4u);
  ASSERT_EQ(csv_b.size(), 4u);
  for (size_t i = 1; i < 4; ++i) {
    const auto fa = split(csv_a[i], ','), fb = split(csv_b[i], ',');
    EXPECT_EQ(fa[1], fb[1]) << "train_loss, epoch " << i;
    EXPECT_EQ(fa[2], fb[2]) << "val_loss, epoch " << i;
  }
  EXPECT_NE(read_file(killed / "events.jsonl").find("\"resume\""), std::string::npos);

  // A finished run resumed again trains no further.
  const auto again = sarseg::testing::resume_tiny(killed);
  EXPECT_EQ(again.epochs_completed, 3);
  EXPECT_EQ(lines_of(killed / "metrics.csv").size(), 4u);
}
