// `sarseg pretrain` through the binary: help, a short run whose weights `sarseg train` takes
// through model.init, and the exit codes of bad input and collapse.
#include <gtest/gtest.h>

#include <cstdlib>

#include "sarseg/train/pretrain.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace sarseg;

namespace {

std::string sets(const std::vector<std::string>& keys) {
  std::string args;
  for (const auto& key : keys)
    args += " --set '" + key + "'";
  return args;
}

const std::vector<std::string> kScenes = {"data.source=synthetic",
                                          "synth.seasons=winter",
                                          "synth.train_per_season=1",
                                          "synth.val_per_season=1",
                                          "synth.test_per_season=0",
                                          "synth.size=64",
                                          "synth.label_mode=pixel",
                                          "data.min_valid_fraction=0.1",
                                          "model.encoder=mobilenet_v2",
                                          "model.decoder=unet",
                                          "model.decoder_channels=16,16,16,16,16"};

std::string pretrain_args(const fs::path& out) {
  std::vector<std::string> keys = kScenes;
  for (const std::string k : {"ssl.epochs=2", "ssl.samples_per_epoch=8", "ssl.batch_size=4",
                              "ssl.region_size=48", "ssl.view_size=32", "ssl.projector_hidden=16",
                              "ssl.projector_dim=16", "ssl.monitor_samples=16"})
    keys.push_back(k);
  return sets(keys) + " --out '" + out.string() + "'";
}

}  // namespace

TEST(PretrainCli, HelpListsEveryKeyWithItsDefault) {
  const auto r = sarseg::testing::run_sarseg("pretrain --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const auto& key : train::pretrain_options_schema().keys())
    EXPECT_NE(r.output.find(key.name + " = " + key.default_text), std::string::npos) << key.name;
  EXPECT_NE(r.output.find("--init"), std::string::npos);
  EXPECT_NE(r.output.find("Exit codes"), std::string::npos);
}

TEST(PretrainCli, WeightsThatTrainTakesAndExitCodes) {
  sarseg::testing::TempDir dir;
  const fs::path weights = dir / "ssl" / "encoder.safetensors";
  const auto ok = sarseg::testing::run_sarseg("--threads 1 pretrain" + pretrain_args(weights));
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("epoch 2/2"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("effective rank"), std::string::npos) << ok.output;
  ASSERT_TRUE(fs::exists(weights));
  EXPECT_TRUE(fs::exists(dir / "ssl" / "encoder.json"));

  // Fine-tuning from the file: the encoder is loaded from it.
  std::vector<std::string> train_keys = kScenes;
  for (const std::string k :
       {"data.patch_size=32", "data.patches_per_scene=2", "data.val_patches_per_scene=1",
        "train.batch_size=2", "train.min_epochs=1", "train.max_epochs=1", "output.progress=off"})
    train_keys.push_back(k);
  train_keys.push_back("model.init=" + weights.string());
  train_keys.push_back("output.dir=" + (dir / "run").string());
  const auto trained = sarseg::testing::run_sarseg("--threads 1 train" + sets(train_keys));
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("encoder initialised from " + weights.string()), std::string::npos)
      << trained.output;
  EXPECT_TRUE(fs::exists(dir / "run" / "checkpoints" / "last.pt"));

  // The output exists: refused (exit 2) before any step, the file untouched.
  const auto size = fs::file_size(weights);
  const auto again = sarseg::testing::run_sarseg("--threads 1 pretrain" + pretrain_args(weights));
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("--overwrite"), std::string::npos) << again.output;
  EXPECT_EQ(again.output.find("epoch 1/"), std::string::npos) << again.output;
  EXPECT_EQ(fs::file_size(weights), size);

  // No scenes at all (the files source with nothing listed): exit 2 saying what to do.
  const auto none =
      sarseg::testing::run_sarseg("pretrain --out '" + (dir / "none.safetensors").string() + "'");
  EXPECT_EQ(none.exit_code, 2) << none.output;
  EXPECT_NE(none.output.find("data.unlabelled"), std::string::npos) << none.output;

  // Collapse (every input the same): exit 2, no weights.
  setenv("SARSEG_PRETRAIN_FAULT", "constant_input", 1);
  const fs::path collapsed = dir / "collapsed.safetensors";
  const auto fault = sarseg::testing::run_sarseg("--threads 1 pretrain" + pretrain_args(collapsed));
  unsetenv("SARSEG_PRETRAIN_FAULT");
  EXPECT_EQ(fault.exit_code, 2) << fault.output;
  EXPECT_NE(fault.output.find("collapsed at epoch 1"), std::string::npos) << fault.output;
  EXPECT_FALSE(fs::exists(collapsed));
}
