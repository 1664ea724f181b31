// Resuming from a damaged last checkpoint: refused (UserError, exit 2) naming the intact
// checkpoint that can be used instead; never loaded.
#include <gtest/gtest.h>

#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "support/test_support.h"
#include "tiny_config.h"

namespace fs = std::filesystem;
using namespace sarseg;

namespace {

std::string resume_error(const fs::path& run_dir) {
  try {
    sarseg::testing::resume_tiny(run_dir);
  } catch (const UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "resume accepted a damaged checkpoint";
  return "";
}

}  // namespace

TEST(DamagedResume, BitFlippedLastCheckpointIsRefusedAndBestIsNamed) {
  sarseg::testing::TempDir dir;
  const fs::path run = dir / "run";
  sarseg::testing::train_tiny(sarseg::testing::tiny_train_overrides(run, 2, 5, {"data.scale=0.1"}));
  const fs::path last = run / "checkpoints" / "last.pt", best = run / "checkpoints" / "best.pt";
  ASSERT_EQ(checkpoint::checkpoint_damage(last), "");
  const int64_t best_epoch = checkpoint::read_checkpoint_meta(best).epoch;

  std::string bytes = read_file(last);
  bytes[bytes.size() / 3] = static_cast<char>(bytes[bytes.size() / 3] ^ 0x10);
  write_file_atomically(last, bytes);
  const std::string message = resume_error(run);
  EXPECT_NE(message.find(last.string() + " is damaged"), std::string::npos) << message;
  EXPECT_NE(message.find(best.string() + " (epoch " + std::to_string(best_epoch) + ") is intact"),
            std::string::npos)
      << message;
  EXPECT_EQ(read_file(last), bytes);  // refused, not rewritten

  // With best.pt damaged too (truncated), nothing is offered.
  const std::string best_bytes = read_file(best);
  write_file_atomically(best, std::string_view(best_bytes).substr(0, best_bytes.size() / 2));
  EXPECT_NE(resume_error(run).find("no intact checkpoint is left"), std::string::npos);
}
