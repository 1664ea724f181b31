// `sarseg train`, `predict` and `eval` onto a full filesystem through the binary: exit status 2,
// `sarseg: error:` naming the file, nothing left under the final name or as a temporary.
#include <gtest/gtest.h>

#include "infer/tiny_checkpoint.h"
#include "sarseg/io/scene_io.h"
#include "small_tmpfs.h"
#include "support/test_support.h"
#include "train/tiny_config.h"

namespace fs = std::filesystem;
using namespace sarseg;
using sarseg::testing::SmallTmpfs;

namespace {

// A 64x64 3-band GeoTIFF scene with SOD labels.
fs::path write_scene(const fs::path& dir) {
  const io::Scene scene = sarseg::test::tiny_sod_scene("full_disk");
  const fs::path path = dir / "scene.tif";
  io::write_scene(scene, path);
  return path;
}

// GDAL's message for a failed GeoTIFF write is its own ("IO error writing tag data"); the files
// sarseg writes itself say "No space left on device".
void expect_refusal(const sarseg::testing::CommandResult& r, const fs::path& names,
                    bool says_no_space = true) {
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("sarseg: error: cannot write '" + names.string()), std::string::npos)
      << r.output;
  if (says_no_space) {
    EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
  }
}

}  // namespace

TEST(DiskFullCli, PredictAndEvalExitTwoNamingTheFile) {
  SmallTmpfs tmpfs(64);
  SKIP_UNLESS_MOUNTED(tmpfs);
  sarseg::testing::TempDir dir;
  const auto checkpoint = test::write_checkpoint(dir.path(), test::tiny_spec(), test::tiny_spec());
  const auto scene = write_scene(dir.path());
  fs::create_directories(tmpfs.dir() / "predict");
  fs::create_directories(tmpfs.dir() / "eval");
  tmpfs.fill();

  const auto predict =
      sarseg::testing::run_sarseg("predict --checkpoint " + checkpoint.string() + " " +
                                  scene.string() + " --out " + (tmpfs.dir() / "predict").string());
  expect_refusal(predict, tmpfs.dir() / "predict", false);
  const auto eval =
      sarseg::testing::run_sarseg("eval --checkpoint " + checkpoint.string() + " " +
                                  scene.string() + " --out " + (tmpfs.dir() / "eval").string());
  expect_refusal(eval, tmpfs.dir() / "eval" / "eval.json");
  EXPECT_EQ(tmpfs.strays({}), std::vector<std::string>{});
}

// Room for the run directory's small files, not for a checkpoint: the first epoch's write fails.
TEST(DiskFullCli, TrainExitsTwoNamingTheCheckpoint) {
  SmallTmpfs tmpfs(256);
  SKIP_UNLESS_MOUNTED(tmpfs);
  const fs::path run = tmpfs.dir() / "run";
  std::string arguments = "train";
  for (const auto& setting : sarseg::testing::tiny_train_overrides(run, 2, 5, {"data.scale=0.1"}))
    arguments += " --set '" + setting + "'";
  const auto r = sarseg::testing::run_sarseg(arguments);
  expect_refusal(r, run / "checkpoints" / "last.pt");
  EXPECT_FALSE(fs::exists(run / "checkpoints" / "last.pt"));
  for (const auto& name : tmpfs.strays({"run/config.yaml", "run/events.jsonl", "run/train.log"}))
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << "temporary left behind: " << name;
}
