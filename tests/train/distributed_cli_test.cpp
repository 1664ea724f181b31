// Data-parallel training through the binary on loopback (`sarseg launch`): two processes with half
// the batch each end with the one-process weights; a killed or hung rank ends the job with one
// clear error within the timeout, the last checkpoint intact; the job resumes after the kill.
//
// The comparison: train.batch_size is per process, so 2 x 2 samples take the same steps as 1 x 4
// when each sample's loss does not depend on the others in its batch: model.freeze_bn (BatchNorm
// in eval mode: batch statistics over 2 samples would differ from those over 4), model.dropout=0
// (dropout masks are drawn per process) and data.min_valid_fraction=1 (every rank's loss is a mean
// over the same number of pixels, so the mean of the two means is the mean over the batch).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "sarseg/checkpoint/checkpoint.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/strings.h"
#include "support/test_support.h"
#include "tiny_config.h"

namespace fs = std::filesystem;
using namespace sarseg;

namespace {

// A seconds-long run, as --set arguments; `batch` per process.
std::string tiny_args(const fs::path& run_dir, int batch, int epochs) {
  std::string args;
  for (const auto& o : sarseg::testing::tiny_train_overrides(
           run_dir, epochs, 5,
           {"data.loader_threads=1", "data.min_valid_fraction=1", "model.freeze_bn=true",
            "model.dropout=0", "optim.name=sgd", "optim.lr=0.01",
            "train.batch_size=" + std::to_string(batch)}))
    args += " --set '" + o + "'";
  return args;
}

size_t count_lines(const fs::path& path) {
  size_t n = 0;
  for (const auto& line : split(read_file(path), '\n'))
    n += line.empty() ? 0 : 1;
  return n;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

double max_difference(const fs::path& a, const fs::path& b) {
  const auto x = sarseg::testing::checkpoint_tensors(a), y = sarseg::testing::checkpoint_tensors(b);
  EXPECT_EQ(x.size(), y.size());
  double worst = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    EXPECT_EQ(x[i].first, y[i].first);
    if (!x[i].second.is_floating_point()) {
      EXPECT_TRUE(torch::equal(x[i].second, y[i].second)) << x[i].first;
      continue;
    }
    worst = std::max(worst, (x[i].second - y[i].second).abs().max().item<double>());
  }
  return worst;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// Tolerance: 1e-6 on every weight. SGD keeps the steps linear in the gradients (Adam divides by
// their running magnitude, which magnifies rounding on near-zero gradients), so float sums in
// another order leave differences far below it; without the gradient all-reduce rank 0's weights
// differ from the one-process run by far more (see docs/distributed.md).
TEST(DistributedCli, TwoProcessesWithHalfBatchesEndWithTheOneProcessWeights) {
  sarseg::testing::TempDir dir;
  const auto one = sarseg::testing::run_sarseg("--threads 1 train" + tiny_args(dir / "one", 4, 2));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto two =
      sarseg::testing::run_sarseg("launch --nproc 2 -- train" + tiny_args(dir / "two", 2, 2));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  const double difference = max_difference(dir / "one" / "checkpoints" / "last.pt",
                                           dir / "two" / "checkpoints" / "last.pt");
  std::printf("largest weight difference, 2 x 2 vs 1 x 4: %.3g\n", difference);
  EXPECT_LT(difference, 1e-6);
  // Rank 0 alone wrote the run: one start event, one metrics row per epoch, one result line.
  const std::string events = read_file(dir / "two" / "events.jsonl");
  EXPECT_EQ(count_of(events, "\"event\":\"start\""), 1u) << events;
  EXPECT_NE(events.find("\"world_size\":2"), std::string::npos);
  EXPECT_EQ(count_lines(dir / "two" / "metrics.csv"), 3u);
  EXPECT_EQ(count_of(two.output, "run " + (dir / "two").string()), 1u) << two.output;
}

// The fault switch of the program for the rank with RANK=1 only, while alive.
class RankFault {
 public:
  explicit RankFault(const std::string& fault) {
    setenv("SARSEG_TRAIN_FAULT", fault.c_str(), 1);
    setenv("SARSEG_TRAIN_FAULT_RANK", "1", 1);
  }
  ~RankFault() {
    unsetenv("SARSEG_TRAIN_FAULT");
    unsetenv("SARSEG_TRAIN_FAULT_RANK");
  }
};

// A rank killed in epoch 2: the other stops at once with one clear error, the launcher exits
// non-zero, epoch 1's checkpoint is intact, and resuming (2 processes, or 1) finishes the run;
// resumed with 2 processes it ends with the weights of an uninterrupted 2-process run.
TEST(DistributedCli, KilledRankStopsTheJobAndTheRunResumes) {
  sarseg::testing::TempDir dir;
  const auto straight =
      sarseg::testing::run_sarseg("launch --nproc 2 -- train" + tiny_args(dir / "straight", 2, 3));
  ASSERT_EQ(straight.exit_code, 0) << straight.output;

  const auto start = std::chrono::steady_clock::now();
  sarseg::testing::CommandResult killed;
  {
    RankFault fault("sigkill@2:1");
    killed = sarseg::testing::run_sarseg("launch --nproc 2 -- train --dist-timeout 10" +
                                         tiny_args(dir / "killed", 2, 3));
  }
  const double seconds = seconds_since(start);
  EXPECT_NE(killed.exit_code, 0) << killed.output;
  EXPECT_LT(seconds, 60) << killed.output;
  EXPECT_EQ(count_of(killed.output, "sarseg: error: rank 0 of 2: the gradient all-reduce failed"),
            1u)
      << killed.output;
  EXPECT_NE(killed.output.find("during epoch 2; the last completed checkpoint"), std::string::npos)
      << killed.output;
  EXPECT_NE(killed.output.find("rank 1 (pid"), std::string::npos) << killed.output;
  EXPECT_NE(killed.output.find("killed by signal 9"), std::string::npos) << killed.output;
  const fs::path last = dir / "killed" / "checkpoints" / "last.pt";
  EXPECT_EQ(checkpoint::read_checkpoint_meta(last).epoch, 1);
  EXPECT_EQ(count_lines(dir / "killed" / "metrics.csv"), 2u);

  // Resumed with 1 process (train.batch_size is per process: the steps are not the same).
  fs::copy(dir / "killed", dir / "alone", fs::copy_options::recursive);
  const auto alone =
      sarseg::testing::run_sarseg("--threads 1 train --resume " + (dir / "alone").string());
  EXPECT_EQ(alone.exit_code, 0) << alone.output;
  EXPECT_EQ(checkpoint::read_checkpoint_meta(dir / "alone" / "checkpoints" / "last.pt").epoch, 3);

  // Resumed with 2 processes: the uninterrupted run's weights.
  const auto resumed = sarseg::testing::run_sarseg("launch --nproc 2 -- train --resume " +
                                                   (dir / "killed").string());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(checkpoint::read_checkpoint_meta(last).epoch, 3);
  EXPECT_EQ(max_difference(dir / "straight" / "checkpoints" / "last.pt", last), 0.0);
  EXPECT_EQ(count_lines(dir / "killed" / "metrics.csv"), 4u);
}

// A rank that hangs (SIGSTOP) instead of dying: the other gives up after --dist-timeout, and the
// launcher ends the stopped rank after its grace period.
TEST(DistributedCli, HungRankStopsTheJobAfterTheTimeout) {
  sarseg::testing::TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  sarseg::testing::CommandResult hung;
  {
    RankFault fault("sigstop@1:2");
    hung = sarseg::testing::run_sarseg("launch --nproc 2 --grace 1 -- train --dist-timeout 4" +
                                       tiny_args(dir / "hung", 2, 2));
  }
  const double seconds = seconds_since(start);
  EXPECT_NE(hung.exit_code, 0) << hung.output;
  EXPECT_GE(seconds, 4) << hung.output;
  EXPECT_LT(seconds, 40) << hung.output;
  EXPECT_NE(hung.output.find("sarseg: error: rank 0 of 2: the gradient all-reduce failed"),
            std::string::npos)
      << hung.output;
  EXPECT_NE(hung.output.find("no checkpoint was written yet"), std::string::npos) << hung.output;
}

// Rank 0 cannot hold the rendezvous on a port in use: exit 2 naming the address.
TEST(DistributedCli, PortInUseIsExitTwoNamingTheAddress) {
  sarseg::testing::TempDir dir;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t length = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  const auto r =
      sarseg::testing::run_sarseg("launch --nproc 2 --grace 2 --master-port " + port +
                                  " -- train --dist-timeout 3" + tiny_args(dir / "run", 2, 1));
  close(fd);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("MASTER_ADDR:MASTER_PORT=127.0.0.1:" + port), std::string::npos)
      << r.output;
}
