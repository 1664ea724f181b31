// `sarseg synth` end to end: files named by scene id, readable by the scene readers,
// byte-identical for the same seed, different for another seed; bad input exits 2 on one line.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "sarseg/io/scene_io.h"
#include "sarseg/util/atomic_file.h"
#include "support/test_support.h"

namespace sarseg {
namespace {

namespace fs = std::filesystem;

std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    names.insert(entry.path().filename().string());
  return names;
}

void expect_usage_error(const std::string& args, const std::string& expected) {
  const auto result = testing::run_sarseg(args);
  EXPECT_EQ(result.exit_code, 2) << args << "\n" << result.output;
  EXPECT_NE(result.output.find("sarseg: error:"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(expected), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find('\n'), result.output.size() - 1) << result.output;
}

class SynthCli : public ::testing::TestWithParam<std::string> {};

TEST_P(SynthCli, WritesReadableScenesDeterministically) {
  const std::string format = GetParam();
  testing::TempDir tmp;
  const std::string common = "synth --season melt --size 48x64 --looks 6 --count 2 --format " +
                             format + " --label-mode pixel --quiet";
  for (const auto& [dir, seed] : {std::pair{"a", 7}, {"b", 7}, {"c", 9}}) {
    const auto result = testing::run_sarseg(common + " --seed " + std::to_string(seed) +
                                            " --out '" + (tmp / dir).string() + "'");
    if (result.exit_code != 0 && result.output.find("not built") != std::string::npos) {
      GTEST_SKIP() << format << " support is not in this build: " << result.output;
    }
    ASSERT_EQ(result.exit_code, 0) << result.output;
  }
  const auto names = files_in(tmp / "a");
  int scenes = 0;
  for (const auto& name : names) {
    if (name.find("_labels") != std::string::npos) continue;
    ++scenes;
    EXPECT_NE(name.find("_synth_prep." + format), std::string::npos) << name;
    EXPECT_EQ(name.size(), std::string("20190915T101500_synth_prep.").size() + format.size())
        << name;
    const auto month = std::stoi(name.substr(4, 2));
    EXPECT_TRUE(month >= 5 && month <= 8) << "melt scenes are dated May-August: " << name;
    io::SceneReadOptions options;
    options.physical_units = true;
    const io::Scene scene = io::read_scene(tmp / "a" / name, options);
    EXPECT_EQ(scene.height, 48);
    EXPECT_EQ(scene.width, 64);
    EXPECT_NE(scene.find_band("hh_db"), nullptr);
    EXPECT_NE(scene.find_band("hv_db"), nullptr);
    for (const char* label : {"SIC", "SOD", "FLOE"})
      EXPECT_TRUE(scene.labels.count(label)) << name << " lacks " << label;
  }
  EXPECT_EQ(scenes, 2);
  EXPECT_EQ(files_in(tmp / "b"), names);
  for (const auto& name : names) {
    EXPECT_TRUE(read_file(tmp / "a" / name) == read_file(tmp / "b" / name))
        << "same seed: " << name;
  }
  // Seeds 9 and 10 against 7 and 8: other scenes, other names and other bytes.
  const auto other = files_in(tmp / "c");
  EXPECT_EQ(other.size(), names.size());
  for (const auto& name : other) {
    if (names.count(name) != 0) {
      EXPECT_FALSE(read_file(tmp / "a" / name) == read_file(tmp / "c" / name)) << name;
    }
  }
  EXPECT_NE(other, names);
}

INSTANTIATE_TEST_SUITE_P(Formats, SynthCli, ::testing::Values("nc", "tif"));

TEST(SynthCliErrors, BadOptionsExitTwoNamingTheOption) {
  testing::TempDir tmp;
  const std::string out = " --out '" + (tmp / "out").string() + "'";
  expect_usage_error("synth --size 0x5" + out, "--size");
  expect_usage_error("synth --season summer" + out, "summer");
  expect_usage_error("synth --label-mode polygons" + out, "polygons");
  expect_usage_error("synth --format png" + out, "--format");
  expect_usage_error("synth --size 8x8" + out, "size");
  expect_usage_error("synth --looks 0" + out, "looks");
  write_file_atomically(tmp / "file", "x");
  expect_usage_error("synth --size 32 --out '" + (tmp / "file").string() + "'", "file");
  EXPECT_FALSE(fs::exists(tmp / "out") && !fs::is_empty(tmp / "out"));
}

TEST(SynthCliBench, ReportsMillisecondsPerScene) {
  const auto result = testing::run_sarseg("bench synth --size 64x64 --repeat 2");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("ms per scene"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace sarseg
