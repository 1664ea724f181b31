// Writing onto a full filesystem (a small tmpfs mounted by the test; it needs root or
// CAP_SYS_ADMIN and skips itself otherwise): the previous checkpoint stays intact and loadable,
// the UserError (exit 2) names the file, and nothing is left under the final name or as a
// temporary.
#include <gtest/gtest.h>

#include "infer/tiny_checkpoint.h"
#include "sarseg/io/prediction_output.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "small_tmpfs.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace sarseg;
using sarseg::testing::SmallTmpfs;

namespace {

std::string message_of(const std::function<void()>& write) {
  try {
    write();
  } catch (const UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "the write onto a full filesystem did not fail with a UserError";
  return "";
}

}  // namespace

TEST(DiskFull, CheckpointWriteFailsAndThePreviousCheckpointStaysLoadable) {
  sarseg::testing::TempDir scratch;
  const auto probe = test::write_checkpoint(scratch.path(), test::tiny_spec(), test::tiny_spec());
  const size_t size_kib = fs::file_size(probe) / 1024;
  // Room for one checkpoint, not for the next one's temporary beside it.
  SmallTmpfs tmpfs(size_kib * 3 / 2 + 64);
  SKIP_UNLESS_MOUNTED(tmpfs);

  const fs::path path = tmpfs.dir() / "last.pt";
  checkpoint::CheckpointMeta meta = checkpoint::read_checkpoint_meta(probe);
  auto model = models::build_model(test::tiny_spec());
  checkpoint::save_checkpoint(path, meta, *model, nullptr);
  const auto before = model->named_parameters()[0].value().clone();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters())
      p.add_(1.0);
  }
  meta.epoch = 4;
  const std::string message =
      message_of([&] { checkpoint::save_checkpoint(path, meta, *model, nullptr); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("No space left"), std::string::npos) << message;

  EXPECT_EQ(checkpoint::checkpoint_damage(path), "");
  EXPECT_EQ(checkpoint::read_checkpoint_meta(path).epoch, 3);
  auto reloaded = models::build_model(test::tiny_spec());
  checkpoint::load_checkpoint_state(path, *reloaded, nullptr, false);
  EXPECT_TRUE(torch::equal(reloaded->named_parameters()[0].value(), before));
  EXPECT_EQ(tmpfs.strays({"last.pt"}), std::vector<std::string>{});
}

TEST(DiskFull, PredictionWriteFailsWithoutPartialFiles) {
  SmallTmpfs tmpfs(256);
  SKIP_UNLESS_MOUNTED(tmpfs);
  io::Scene scene;
  scene.id = "scene";
  scene.height = scene.width = 256;
  io::LabelPrediction head;
  head.label = "SOD";
  head.class_count = 6;
  head.classes = io::LabelRaster(256, 256, 0);
  for (size_t i = 0; i < head.classes.data.size(); ++i)
    head.classes.data[i] = static_cast<uint8_t>((i * 2654435761u >> 13) % 6);  // incompressible
  tmpfs.fill();
  const fs::path out = tmpfs.dir() / "out";
  fs::create_directories(out);
  const std::string message =
      message_of([&] { io::write_prediction(scene, {head}, out, io::PredictOutputOptions{}); });
  EXPECT_NE(message.find(out.string()), std::string::npos) << message;
  EXPECT_EQ(tmpfs.strays({}), std::vector<std::string>{});
}

TEST(DiskFull, ReportWriteFailsWithoutPartialFiles) {
  SmallTmpfs tmpfs(64);
  SKIP_UNLESS_MOUNTED(tmpfs);
  fs::create_directories(tmpfs.dir() / "eval");
  write_file_atomically(tmpfs.dir() / "eval" / "eval.json", "{\"old\": true}\n");
  tmpfs.fill();
  const fs::path path = tmpfs.dir() / "eval" / "eval.json";
  const std::string report(256 * 1024, 'r');
  const std::string message = message_of([&] { write_file_atomically(path, report); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("No space left"), std::string::npos) << message;
  EXPECT_EQ(read_file(path), "{\"old\": true}\n");
  EXPECT_EQ(tmpfs.strays({"eval/eval.json"}), std::vector<std::string>{});
}
