// data.bands naming 2 km grids and encodings, through the binary: training, evaluation and the
// scene store on `sarseg synth` netCDF scenes, and exit 2 for a scene that lacks such a band.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

std::string quoted(const fs::path& path) {
  return "'" + path.string() + "'";
}

// `sarseg synth` scenes of 64 x 64 pixels in `format`, their paths sorted.
std::vector<fs::path> synth_scenes(const fs::path& dir, const std::string& format, int count) {
  const auto made = sarseg::testing::run_sarseg(
      "synth --size 64x64 --quiet --seed 5 --land-probability 0 --label-mode pixel --count " +
      std::to_string(count) + " --format " + format + " --out " + quoted(dir));
  EXPECT_EQ(made.exit_code, 0) << made.output;
  std::vector<fs::path> files;
  for (const auto& item : fs::directory_iterator(dir)) {
    const std::string name = item.path().filename().string();
    if (item.path().extension() == "." + format && name.find("_labels") == std::string::npos)
      files.push_back(item.path());
  }
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files.size(), static_cast<size_t>(count));
  return files;
}

std::string training(const std::vector<fs::path>& scenes, const std::string& bands,
                     const fs::path& run) {
  return "--threads 1 train --set data.tasks=[SOD:6] --set data.patch_size=32"
         " --set data.patches_per_scene=2 --set data.val_patches_per_scene=1"
         " --set data.min_valid_fraction=0.1 --set model.encoder=mobilenet_v2"
         " --set model.decoder=unet --set train.batch_size=2 --set train.min_epochs=1"
         " --set train.max_epochs=1 --set output.progress=off"
         " --set data.train=[" +
         scenes[0].string() + "," + scenes[1].string() + "] --set data.val=[" + scenes[2].string() +
         "] --set data.bands=" + bands + " --set output.dir=" + run.string();
}

}  // namespace

TEST(DerivedBandsCli, TrainsEvaluatesAndStoresWithAmsr2TimeAndPositionBands) {
  sarseg::testing::TempDir dir;
  const auto scenes = synth_scenes(dir / "nc", "nc", 3);
  ASSERT_EQ(scenes.size(), 3u);
  const std::string bands = "[hh_db,hv_db,btemp_18_7h,t2m,month_sin,month_cos,latitude,longitude]";
  const auto train = sarseg::testing::run_sarseg(training(scenes, bands, dir / "run"));
  ASSERT_EQ(train.exit_code, 0) << train.output;
  ASSERT_TRUE(fs::exists(dir / "run" / "checkpoints" / "best.pt")) << train.output;

  // Evaluation reads the scene with the checkpoint's bands, derived ones included.
  const auto eval = sarseg::testing::run_sarseg("--threads 1 eval --checkpoint " +
                                                quoted(dir / "run") + " " + quoted(scenes[2]));
  EXPECT_EQ(eval.exit_code, 0) << eval.output;

  // The store prepares the derived bands like the others (the bands are part of its key).
  const auto prepare = sarseg::testing::run_sarseg(
      "data prepare " + quoted(scenes[0]) + " " + quoted(scenes[1]) + " --out " +
      quoted(dir / "store") +
      " --set data.bands=[hh_db,hv_db,btemp_18_7h] --set data.tasks=[SOD:6]");
  EXPECT_EQ(prepare.exit_code, 0) << prepare.output;
  const auto stored = sarseg::testing::run_sarseg(
      training(scenes, "[hh_db,hv_db,btemp_18_7h]", dir / "stored") +
      " --set data.store=" + (dir / "store").string() + " --set data.store_prepare=true");
  EXPECT_EQ(stored.exit_code, 0) << stored.output;
}

TEST(DerivedBandsCli, ASceneWithoutThe2kmGridsExitsTwoNamingTheSceneAndTheBand) {
  sarseg::testing::TempDir dir;
  // GeoTIFF scenes carry no 2 km grids.
  const auto scenes = synth_scenes(dir / "tif", "tif", 3);
  ASSERT_EQ(scenes.size(), 3u);
  const auto train =
      sarseg::testing::run_sarseg(training(scenes, "[hh_db,hv_db,btemp_18_7h]", dir / "run"));
  EXPECT_EQ(train.exit_code, 2) << train.output;
  EXPECT_NE(train.output.find("no band 'btemp_18_7h'"), std::string::npos) << train.output;
  EXPECT_NE(train.output.find(scenes[0].filename().string()), std::string::npos) << train.output;
  EXPECT_FALSE(fs::exists(dir / "run" / "checkpoints"));
}
