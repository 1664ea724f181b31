// `sarseg filter`: a filtered scene file (dB bands filtered in linear intensity, written back in
// dB; other bands and labels copied) and exit 2 for an unknown filter, naming the valid ones.
#include <gtest/gtest.h>

#include <cmath>

#include "io_test_util.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/io/speckle.h"
#include "support/test_support.h"

namespace sarseg::io {
namespace {

namespace fs = std::filesystem;

std::string quoted(const fs::path& path) {
  return "'" + path.string() + "'";
}

TEST(CliFilter, WritesTheSceneFilteredInLinearIntensity) {
  testing::TempDir dir;
  Scene scene = test::make_scene(40, 50);
  // Backscatter as Sentinel-1 gives it (make_scene's ramps reach hundreds of dB).
  for (auto& band : scene.bands)
    if (band.units == "dB")
      for (size_t i = 0; i < band.pixels.data.size(); ++i)
        band.pixels.data[i] = static_cast<float>(-22.0 + 4.0 * std::sin(0.9 * double(i)));
  write_scene(scene, dir / "s.nc");
  const auto result = testing::run_sarseg("filter " + quoted(dir / "s.nc") + " --out " +
                                          quoted(dir / "f.tif") + " --filter boxcar --window 3");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("Mpx/s"), std::string::npos) << result.output;
  SceneReadOptions physical;
  physical.physical_units = true;
  const Scene original = read_scene(dir / "s.nc", physical);
  const Scene filtered = read_scene(dir / "f.tif");
  // The same filter in process, on the scene as read: the file holds exactly that (GeoTIFF keeps
  // float32).
  Scene expected = original;
  filter_scene_bands(expected, {"boxcar", 3});
  for (const char* name : {"hh_db", "hv_db"}) {
    const Band& got = filtered.band(name);
    const Band& want = expected.band(name);
    EXPECT_EQ(got.units, "dB");
    ASSERT_EQ(got.pixels.data.size(), want.pixels.data.size());
    double largest = 0;
    for (size_t i = 0; i < got.pixels.data.size(); ++i)
      if (std::isfinite(want.pixels.data[i]) &&
          original.is_valid(int64_t(i) / original.width, int64_t(i) % original.width))
        largest =
            std::max(largest, std::abs(double(got.pixels.data[i]) - double(want.pixels.data[i])));
    EXPECT_LT(largest, 1e-4) << name;
    EXPECT_NE(got.pixels.data, original.band(name).pixels.data) << name;
  }
  EXPECT_EQ(filtered.band("incidence_deg").pixels.data.size(),
            original.band("incidence_deg").pixels.data.size());
  EXPECT_EQ(filtered.labels.size(), original.labels.size());
}

TEST(CliFilter, UnknownFilterExitsTwoListingTheFiltersAndWritesNothing) {
  testing::TempDir dir;
  write_scene(test::make_scene(20, 20), dir / "s.nc");
  const auto result = testing::run_sarseg("filter " + quoted(dir / "s.nc") + " --out " +
                                          quoted(dir / "f.nc") + " --filter median");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  for (const auto& name : speckle_filter_names())
    EXPECT_NE(result.output.find(name), std::string::npos) << result.output;
  EXPECT_FALSE(fs::exists(dir / "f.nc"));
  const auto even = testing::run_sarseg("filter " + quoted(dir / "s.nc") + " --out " +
                                        quoted(dir / "f.nc") + " --filter lee --window 4");
  EXPECT_EQ(even.exit_code, 2) << even.output;
  EXPECT_FALSE(fs::exists(dir / "f.nc"));
}

TEST(CliFilter, UnknownFilterInAnExperimentExitsTwoBeforeTraining) {
  testing::TempDir dir;
  const auto result = testing::run_sarseg("experiment --out " + quoted(dir / "x") +
                                          " --set data.speckle_filter=median");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("refined_lee"), std::string::npos) << result.output;
  EXPECT_FALSE(fs::exists(dir / "x"));
}

}  // namespace
}  // namespace sarseg::io
