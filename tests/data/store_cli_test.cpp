// `sarseg data prepare` and training on a scene store, end to end: processes preparing one store
// at once, processes reading it at once, and bad input (a band a scene lacks) with exit 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "../io/io_test_util.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/util/atomic_file.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace sarseg;

namespace {

std::string quoted(const fs::path& path) {
  return "'" + path.string() + "'";
}

// Three scene files (without 2 km grids) and a list of the first two.
fs::path write_scenes(const fs::path& dir) {
  for (int i = 0; i < 3; ++i) {
    io::Scene scene = io::test::make_scene(96, 96);
    scene.id = "cli" + std::to_string(i);
    scene.aux.clear();  // no 2 km grids, so that btemp_18_7h is a band the scenes lack
    for (auto& value : scene.bands[0].pixels.data)
      value += static_cast<float>(i);
    io::write_scene(scene, dir / ("s" + std::to_string(i) + ".nc"));
  }
  write_file_atomically(dir / "train.txt", "s0.nc\ns1.nc\n");
  return dir / "train.txt";
}

size_t count_lines_with(const std::string& text, const std::string& word) {
  size_t count = 0;
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1))
    ++count;
  return count;
}

const std::string kTraining =
    " --set data.tasks=[SOD:6] --set data.patch_size=32 --set data.patches_per_scene=4"
    " --set data.val_patches_per_scene=2 --set data.min_valid_fraction=0.3"
    " --set model.encoder=mobilenet_v2 --set model.decoder=unet --set train.batch_size=4";

}  // namespace

TEST(DataCli, ConcurrentPreparersShareOneStore) {
  sarseg::testing::TempDir dir;
  const fs::path list = write_scenes(dir.path());
  const fs::path store = dir / "store";
  const std::string prepare = sarseg::testing::sarseg_binary() + " data prepare " + quoted(list) +
                              " " + quoted(dir / "s2.nc") + " --out " + quoted(store);
  // Two processes at once, through the shell (each renames complete entries).
  const auto both = sarseg::testing::run_sarseg("--version && (" + prepare + " > " +
                                                quoted(dir / "a.log") + " 2>&1 & " + prepare +
                                                " > " + quoted(dir / "b.log") + " 2>&1; wait)");
  ASSERT_EQ(both.exit_code, 0) << both.output;
  for (const char* log : {"a.log", "b.log"})
    EXPECT_NE(read_file(dir / log).find("scenes         3"), std::string::npos)
        << read_file(dir / log);
  size_t entries = 0;
  for (const auto& item : fs::directory_iterator(store)) {
    EXPECT_EQ(item.path().extension(), ".scene") << "left behind: " << item.path();
    ++entries;
  }
  EXPECT_EQ(entries, 3u);
  const auto again = sarseg::testing::run_sarseg("data prepare " + quoted(list) + " " +
                                                 quoted(dir / "s2.nc") + " --out " + quoted(store));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(count_lines_with(again.output, "] reused"), 3u) << again.output;
  EXPECT_NE(again.output.find("MiB per scene"), std::string::npos) << again.output;

  // Two training processes read the store at once (no preparing allowed).
  const std::string bench =
      sarseg::testing::sarseg_binary() + " bench train --steps 2 --warmup 0" + kTraining +
      " --set data.train=[" + list.string() + "] --set data.val=[" + (dir / "s2.nc").string() +
      "] --set data.store=" + store.string() + " --set data.store_prepare=false";
  const auto readers = sarseg::testing::run_sarseg("--version && (" + bench + " > " +
                                                   quoted(dir / "c.log") + " 2>&1 & " + bench +
                                                   " > " + quoted(dir / "d.log") + " 2>&1; wait)");
  ASSERT_EQ(readers.exit_code, 0) << readers.output;
  for (const char* log : {"c.log", "d.log"})
    EXPECT_NE(read_file(dir / log).find("data wait"), std::string::npos) << read_file(dir / log);
}

TEST(DataCli, AMissingBandExitsTwoNamingTheSceneAndTheBand) {
  sarseg::testing::TempDir dir;
  const fs::path list = write_scenes(dir.path());
  const auto result = sarseg::testing::run_sarseg("data prepare " + quoted(list) + " --out " +
                                                  quoted(dir / "store") +
                                                  " --set data.bands=[hh_db,hv_db,btemp_18_7h]");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("btemp_18_7h"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("s0.nc"), std::string::npos) << result.output;
  // Training with the store refuses it the same way, before anything is trained.
  const auto train = sarseg::testing::run_sarseg(
      "train" + kTraining + " --set data.train=[" + list.string() + "] --set data.val=[" +
      (dir / "s2.nc").string() + "] --set data.store=" + (dir / "store").string() +
      " --set data.bands=[hh_db,btemp_18_7h] --set output.dir=" + (dir / "run").string());
  EXPECT_EQ(train.exit_code, 2) << train.output;
  EXPECT_NE(train.output.find("btemp_18_7h"), std::string::npos) << train.output;
  EXPECT_FALSE(fs::exists(dir / "run" / "checkpoints"));
}

// The store holds unfiltered bands (its key does not know the filter): a speckle filter with
// data.store is refused before training, naming both settings.
TEST(DataCli, ASpeckleFilterWithTheStoreIsRefused) {
  sarseg::testing::TempDir dir;
  const fs::path list = write_scenes(dir.path());
  const auto train = sarseg::testing::run_sarseg(
      "train" + kTraining + " --set data.train=[" + list.string() + "] --set data.val=[" +
      (dir / "s2.nc").string() + "] --set data.store=" + (dir / "store").string() +
      " --set data.speckle_filter=lee --set output.dir=" + (dir / "run").string());
  EXPECT_EQ(train.exit_code, 2) << train.output;
  EXPECT_NE(train.output.find("data.speckle_filter=lee"), std::string::npos) << train.output;
  EXPECT_NE(train.output.find("data.store"), std::string::npos) << train.output;
  EXPECT_FALSE(fs::exists(dir / "run" / "checkpoints"));
}
