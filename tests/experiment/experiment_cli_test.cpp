// `sarseg experiment` end to end through the binary (slow: real training, a few runs each).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>

#include "sarseg/util/atomic_file.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {
namespace {

using sarseg::testing::run_sarseg;

const std::string kTiny =
    " --set synth.size=64 --set synth.train_per_season=1 --set synth.val_per_season=1"
    " --set synth.test_per_season=1 --set data.patch_size=32 --set data.patches_per_scene=4"
    " --set data.val_patches_per_scene=2 --set data.min_valid_fraction=0.2"
    " --set 'model.decoder_channels=[16, 8, 8, 8, 8]' --set train.batch_size=4"
    " --set train.min_epochs=3 --set train.max_epochs=3 --set experiment.tile=64"
    " --set experiment.overlap=0 --set experiment.quicklook_size=32 --set output.progress=off";

TEST(ExperimentCli, BadInputExitsWithTwo) {
  sarseg::testing::TempDir dir;
  const auto unknown_profile =
      run_sarseg("experiment --profile nope --out " + (dir / "a").string());
  EXPECT_EQ(unknown_profile.exit_code, 2) << unknown_profile.output;
  EXPECT_NE(unknown_profile.output.find("quick"), std::string::npos) << unknown_profile.output;
  const auto unknown_arm = run_sarseg("experiment --set 'experiment.arms=[imagenet, nope]' --out " +
                                      (dir / "b").string());
  EXPECT_EQ(unknown_arm.exit_code, 2) << unknown_arm.output;
  // No ImageNet ResNet34 file in the weights folder, downloads off.
  setenv("SARSEG_OFFLINE", "1", 1);
  const auto no_weights = run_sarseg("experiment" + kTiny + " --set model.encoder=resnet34 --out " +
                                     (dir / "c").string());
  EXPECT_EQ(no_weights.exit_code, 2) << no_weights.output;
  EXPECT_NE(no_weights.output.find("imagenet"), std::string::npos) << no_weights.output;
  EXPECT_FALSE(fs::exists(dir / "c"));
  const auto list = run_sarseg("experiment --list-profiles");
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.output.find("autoice"), std::string::npos);
}

// An experiment killed (SIGKILL) inside a run keeps its finished runs and resumes the killed one.
TEST(ExperimentCli, InterruptedExperimentResumes) {
  sarseg::testing::TempDir dir;
  const std::string out = (dir / "exp").string();
  // 1. seed 1 completes.
  const auto first =
      run_sarseg("experiment" + kTiny + " --set 'experiment.seeds=[1]' --out " + out);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto kept_time = fs::last_write_time(dir / "exp" / "imagenet" / "seed1" / "result.json");
  // 2. seeds 1 and 2.
  const auto second =
      run_sarseg("experiment" + kTiny + " --set 'experiment.seeds=[1, 2]' --out " + out);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("2 trained, 0 resumed, 2 kept"), std::string::npos) << second.output;
  // 3. seeds 1 to 3; the first new run (imagenet, seed 3) is killed in its second epoch.
  const std::string env = "env SARSEG_TRAIN_FAULT=sigkill@2:1 ";
  const std::string binary = sarseg::testing::sarseg_binary();
  const int status =
      std::system((env + "'" + binary + "' experiment" + kTiny +
                   " --set 'experiment.seeds=[1, 2, 3]' --out " + out + " > /dev/null 2>&1")
                      .c_str());
  EXPECT_NE(status, 0);
  EXPECT_TRUE(fs::exists(dir / "exp" / "imagenet" / "seed3" / "checkpoints" / "last.pt"));
  EXPECT_FALSE(fs::exists(dir / "exp" / "imagenet" / "seed3" / "result.json"));
  // 4. the restart keeps seeds 1-2, resumes imagenet seed 3 and trains random seed 3.
  const auto resumed =
      run_sarseg("experiment" + kTiny + " --set 'experiment.seeds=[1, 2, 3]' --out " + out);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("1 trained, 1 resumed, 4 kept"), std::string::npos)
      << resumed.output;
  EXPECT_EQ(fs::last_write_time(dir / "exp" / "imagenet" / "seed1" / "result.json"), kept_time);
  const auto events = read_file(dir / "exp" / "imagenet" / "seed3" / "events.jsonl");
  EXPECT_NE(events.find("resume"), std::string::npos);
  const auto summary = nlohmann::json::parse(read_file(dir / "exp" / "summary.json"));
  EXPECT_EQ(summary.at("runs").size(), 6u);
  for (const auto& run : summary.at("runs"))
    EXPECT_EQ(run.at("curve").size(), 3u);
}

TEST(ExperimentCli, PaperProfileOnTinyGeoTiffs) {
  sarseg::testing::TempDir dir;
  // Tiny GeoTIFF stacks: two training, one validation and one test scene per season.
  for (const std::string season : {"freeze-up", "melt"}) {
    for (const std::string split : {"train", "val", "test"}) {
      const int count = split == "train" ? 2 : 1;
      const auto made = run_sarseg("synth --format tif --quiet --size 96x96 --season " + season +
                                   " --count " + std::to_string(count) + " --seed " +
                                   std::to_string(split.size() * 7 + season.size()) + " --out " +
                                   (dir / split).string() + " --prefix " + season + "_");
      ASSERT_EQ(made.exit_code, 0) << made.output;
    }
  }
  std::string lists;
  for (const std::string split : {"train", "val", "test"}) {
    std::string list;
    for (const auto& entry : fs::directory_iterator(dir / split))
      if (entry.path().extension() == ".tif" &&
          entry.path().filename().string().find("_labels") == std::string::npos) {
        list += entry.path().string() + "\n";  // the label rasters are found beside each stack
      }
    write_file_atomically(dir / (split + ".txt"), list);
    lists += " --set data." + split + "=" + (dir / (split + ".txt")).string();
  }
  // The paper's protocol, shrunk: ResNet18 + DeepLabV3, but 32-px crops and 2 epochs. There are
  // no ImageNet ResNet18 weights offline, so the reference arm is a frozen random encoder (the
  // plumbing of files, seasons, arms and report is what this checks).
  const auto result = run_sarseg(
      "experiment --profile paper" + lists +
      " --set data.patch_size=32 --set data.patches_per_scene=4 --set data.val_patches_per_scene=2"
      " --set data.min_valid_fraction=0.2 --set train.batch_size=4 --set train.min_epochs=1"
      " --set train.max_epochs=2 --set 'experiment.seeds=[1, 2]' --set output.progress=off"
      " --set 'experiment.arms=[frozen:random:all, random]' --set experiment.reference_arm=frozen"
      " --set model.aspp_channels=16 --set experiment.quicklook_size=48 --out " +
      (dir / "paper").string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto summary = nlohmann::json::parse(read_file(dir / "paper" / "summary.json"));
  EXPECT_EQ(summary.at("runs").size(), 4u);
  EXPECT_EQ(summary.at("analysis").at("seasons"), nlohmann::json({"freeze-up", "melt", "all"}));
  EXPECT_NE(summary.at("model").get<std::string>().find("resnet18"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "paper" / "report.html"));
}

}  // namespace
}  // namespace sarseg::experiment
