// `sarseg train` and `sarseg bench train` through the binary: help, exit codes, a short run.
#include <gtest/gtest.h>

#include <cstdlib>

#include "sarseg/train/config.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace sarseg;

namespace {

std::string tiny_args(const fs::path& run_dir) {
  std::string args;
  for (const std::string o :
       {"data.source=synthetic", "synth.seasons=winter", "synth.train_per_season=1",
        "synth.val_per_season=1", "synth.test_per_season=0", "synth.size=64",
        "synth.label_mode=pixel", "data.patch_size=32", "data.patches_per_scene=2",
        "data.val_patches_per_scene=1", "data.min_valid_fraction=0.1", "model.aspp_channels=16",
        "train.batch_size=2", "train.min_epochs=1", "train.max_epochs=1", "output.progress=lines"})
    args += " --set '" + o + "'";
  return args + " --set 'output.dir=" + run_dir.string() + "'";
}

}  // namespace

TEST(TrainCli, HelpListsEveryKeyWithItsDefault) {
  const auto r = sarseg::testing::run_sarseg("train --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const auto& key : train::train_config_schema().keys())
    EXPECT_NE(r.output.find(key.name + " = " + key.default_text), std::string::npos) << key.name;
}

TEST(TrainCli, ShortRunAndExitCodes) {
  sarseg::testing::TempDir dir;
  const auto ok = sarseg::testing::run_sarseg("--threads 1 train" + tiny_args(dir / "run"));
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(fs::exists(dir / "run" / "checkpoints" / "best.pt"));
  const auto again = sarseg::testing::run_sarseg("--threads 1 train" + tiny_args(dir / "run"));
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;
  // In the temporary directory too: should the key ever be accepted, nothing lands in the cwd.
  const auto unknown = sarseg::testing::run_sarseg(
      "train --set optim.lrr=1 --set 'output.dir=" + (dir / "unknown").string() + "'");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("did you mean optim.lr"), std::string::npos) << unknown.output;
  setenv("SARSEG_TRAIN_FAULT", "nan@1:1", 1);
  const auto nan = sarseg::testing::run_sarseg("--threads 1 train" + tiny_args(dir / "nan"));
  unsetenv("SARSEG_TRAIN_FAULT");
  EXPECT_EQ(nan.exit_code, 2) << nan.output;
  EXPECT_NE(nan.output.find("epoch 1, batch 1"), std::string::npos) << nan.output;
  const auto bench = sarseg::testing::run_sarseg("--threads 1 bench train --steps 2 --warmup 1" +
                                                 tiny_args(dir / "unused"));
  EXPECT_EQ(bench.exit_code, 0) << bench.output;
  EXPECT_NE(bench.output.find("samples/s"), std::string::npos) << bench.output;
  EXPECT_NE(bench.output.find("data wait"), std::string::npos) << bench.output;
  EXPECT_FALSE(fs::exists(dir / "unused"));
}

TEST(TrainCli, DownsampleBelowOneExits2NamingTheKey) {
  sarseg::testing::TempDir dir;
  const auto r = sarseg::testing::run_sarseg("--threads 1 train" + tiny_args(dir / "run") +
                                             " --set data.downsample=0");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("data.downsample"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "run"));
}

// The program draws the progress (the library only reports it) and reads the test switch.
TEST(TrainCli, ProgramDrawsTheBarAndRefusesAMalformedFaultSwitch) {
  sarseg::testing::TempDir dir;
  const auto bar = sarseg::testing::run_sarseg("--threads 1 train" + tiny_args(dir / "bar") +
                                               " --set output.progress=bar");
  EXPECT_EQ(bar.exit_code, 0) << bar.output;
  EXPECT_NE(bar.output.find("\repoch 1/1 [########################] 1/1 loss "), std::string::npos)
      << bar.output;
  setenv("SARSEG_TRAIN_FAULT", "nan@one:1", 1);
  const auto bad = sarseg::testing::run_sarseg("--threads 1 train" + tiny_args(dir / "bad"));
  unsetenv("SARSEG_TRAIN_FAULT");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("SARSEG_TRAIN_FAULT='nan@one:1'"), std::string::npos) << bad.output;
}
