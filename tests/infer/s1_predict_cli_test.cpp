// `sarseg predict PRODUCT.zip`: a Sentinel-1 product is imported in memory and its map written,
// the same size as `sarseg s1 import` makes the scene; with --product-crs the map is
// georeferenced.
#include <gdal_priv.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "sarseg/io/geotiff.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/synth/s1_product.h"
#include "support/test_support.h"
#include "tiny_checkpoint.h"

namespace sarseg {
namespace {

namespace fs = std::filesystem;

std::string q(const fs::path& p) {
  return "'" + p.string() + "'";
}

TEST(S1PredictCli, PredictsAProductZipInMemory) {
  testing::TempDir dir;
  synth::S1ProductSpec spec;
  spec.lines = 260;
  spec.samples = 700;
  spec.compress = true;
  const auto files = synth::write_s1_product(spec, dir.path(), /*zip=*/true);
  const auto checkpoint =
      test::write_checkpoint(dir.path(), test::tiny_spec(), test::tiny_spec(), {"dB", "dB", "deg"});
  const auto r = testing::run_sarseg("predict --checkpoint " + q(checkpoint) + " " + q(files.zip) +
                                     " --out " + q(dir / "maps") + " --no-quicklook");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path map = dir / "maps" / (files.name + "_classes.tif");
  ASSERT_TRUE(fs::exists(map)) << r.output;
  const auto labels = io::read_label_geotiff(map);
  ASSERT_EQ(labels.labels.size(), 1u);
  EXPECT_EQ(labels.labels[0].second.height, 130);  // 40 m -> 80 m
  EXPECT_EQ(labels.labels[0].second.width, 350);
  // Border columns (no data) are unlabelled, the swath inside is classified.
  EXPECT_EQ(labels.labels[0].second.at(60, 0), io::kLabelFill);
  EXPECT_LT(labels.labels[0].second.at(60, 175), 6);

  const auto w = testing::run_sarseg("predict --checkpoint " + q(checkpoint) + " " + q(files.safe) +
                                     " --product-crs EPSG:3413 --out " + q(dir / "warped") +
                                     " --no-quicklook");
  ASSERT_EQ(w.exit_code, 0) << w.output;
  const auto warped = io::read_label_geotiff(dir / "warped" / (files.name + "_classes.tif"));
  ASSERT_TRUE(warped.geo.has_value());
  EXPECT_NE(warped.geo->crs_wkt.find("Polar Stereographic"), std::string::npos);

  // Imported to a map grid, labelled from the real CIS chart and scored by `sarseg eval`.
  const auto imported = testing::run_sarseg("s1 import " + q(files.safe) +
                                            " --crs EPSG:3413 --out " + q(dir / "w.tif"));
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  const fs::path chart =
      testing::shared_dir() / "fixtures" / "cis_chart_20201102" / "cis_SGRDREA_20201102T.gpkg";
  const auto labelled = testing::run_sarseg("chart rasterize " + q(chart) + " --like " +
                                            q(dir / "w.tif") + " --out " + q(dir / "w_labels.tif"));
  ASSERT_EQ(labelled.exit_code, 0) << labelled.output;
  const auto eval =
      testing::run_sarseg("eval --checkpoint " + q(checkpoint) + " " + q(dir / "w.tif"));
  EXPECT_EQ(eval.exit_code, 0) << eval.output;

  const auto bad = testing::run_sarseg("predict --checkpoint " + q(checkpoint) + " " +
                                       q(dir / "absent.zip") + " --out " + q(dir / "bad"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
}

}  // namespace
}  // namespace sarseg
