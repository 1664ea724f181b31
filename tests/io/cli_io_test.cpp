// `sarseg scene info` and `sarseg chart rasterize`: outputs and exit codes on good and bad input.
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include "io_test_util.h"
#include "sarseg/io/geotiff.h"
#include "sarseg/io/image.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/util/atomic_file.h"
#include "support/geo_support.h"
#include "support/test_support.h"

namespace sarseg::io {
namespace {

namespace fs = std::filesystem;

std::string quoted(const fs::path& path) {
  return "'" + path.string() + "'";
}

bool is_one_error_line(const std::string& output) {
  return output.rfind("sarseg: error: ", 0) == 0 && output.find('\n') == output.size() - 1;
}

TEST(CliScene, InfoStatsAndQuicklook) {
  testing::TempDir dir;
  write_scene(test::make_scene(40, 50), dir / "s.nc");
  const auto result = testing::run_sarseg("scene info " + quoted(dir / "s.nc") +
                                          " --stats --quicklook " + quoted(dir / "q.png"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* expected : {"40 x 50", "hh_db [zscore]", "season:        winter", "label SIC",
                               "masked:", "dB", "2 km grids", "quicklook:"}) {
    EXPECT_NE(result.output.find(expected), std::string::npos) << expected << "\n" << result.output;
  }
  const RgbImage png = read_image(dir / "q.png");
  EXPECT_GT(png.width, 100);  // SAR + label map + legend side by side
}

TEST(CliScene, BadFilesExitTwoNamingTheFileAndWriteNothing) {
  testing::TempDir dir;
  write_scene(test::make_scene(40, 50), dir / "full.nc");
  const std::string bytes = read_file(dir / "full.nc");
  write_file_atomically(dir / "cut.nc", bytes.substr(0, bytes.size() / 3));
  write_file_atomically(dir / "junk.tif", "no tiff here");
  for (const char* name : {"cut.nc", "junk.tif", "missing.nc"}) {
    const auto result = testing::run_sarseg("scene info " + quoted(dir / name) + " --quicklook " +
                                            quoted(dir / "q.png"));
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_TRUE(is_one_error_line(result.output)) << result.output;
    EXPECT_NE(result.output.find(name), std::string::npos) << result.output;
    EXPECT_FALSE(fs::exists(dir / "q.png"));
  }
}

TEST(CliChart, RasterizesTheRealChartAndRefusesBadCharts) {
  testing::TempDir dir;
  const fs::path chart =
      testing::shared_dir() / "fixtures/cis_chart_20201102/cis_SGRDREA_20201102T.gpkg";
  // A 100 x 100 grid of 10 km pixels in polar stereographic centred on the chart (74 N, 70 W).
  Scene like = test::make_scene(100, 100);
  like.labels.clear();
  like.geo = testing::polar_stereographic_grid(-1230000, -1090000, 10000);
  write_scene(like, dir / "like.tif");
  const auto result =
      testing::run_sarseg("chart rasterize " + quoted(chart) + " --like " +
                          quoted(dir / "like.tif") + " --out " + quoted(dir / "labels.tif"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const LabelRasterFile labels = read_label_geotiff(dir / "labels.tif");
  ASSERT_EQ(labels.labels.size(), 3u);
  EXPECT_EQ(labels.labels[1].first, "SOD");
  ASSERT_TRUE(labels.geo.has_value());
  EXPECT_TRUE(same_grid(*labels.geo, *like.geo));
  int ice = 0;
  for (uint8_t v : labels.labels[0].second.data)
    ice += v >= 1 && v <= 10;
  EXPECT_GT(ice, 100) << result.output;

  // A layer without egg codes, and an empty layer: exit 2, nothing written.
  GDALAllRegister();
  for (const bool with_features : {true, false}) {
    const fs::path bad = dir / (with_features ? "plain.gpkg" : "empty.gpkg");
    GDALDataset* ds = GetGDALDriverManager()->GetDriverByName("GPKG")->Create(bad.c_str(), 0, 0, 0,
                                                                              GDT_Unknown, nullptr);
    ASSERT_NE(ds, nullptr);
    OGRSpatialReference srs;
    srs.importFromEPSG(3413);
    OGRLayer* layer = ds->CreateLayer("polygons", &srs, wkbPolygon, nullptr);
    for (const char* field : with_features ? std::vector<const char*>{"NAME"}
                                           : std::vector<const char*>{"CT", "CA", "SA"}) {
      OGRFieldDefn definition(field, OFTString);
      ASSERT_EQ(layer->CreateField(&definition), OGRERR_NONE);
    }
    if (with_features) {
      OGRFeature feature(layer->GetLayerDefn());
      OGRPolygon polygon;
      OGRLinearRing ring;
      ring.addPoint(-1200000, -500000);
      ring.addPoint(-1100000, -500000);
      ring.addPoint(-1100000, -600000);
      ring.addPoint(-1200000, -500000);
      polygon.addRing(&ring);
      feature.SetGeometry(&polygon);
      ASSERT_EQ(layer->CreateFeature(&feature), OGRERR_NONE);
    }
    GDALClose(ds);
    const auto refused =
        testing::run_sarseg("chart rasterize " + quoted(bad) + " --like " +
                            quoted(dir / "like.tif") + " --out " + quoted(dir / "bad.tif"));
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_TRUE(is_one_error_line(refused.output)) << refused.output;
    EXPECT_NE(refused.output.find(bad.filename().string()), std::string::npos);
    EXPECT_NE(refused.output.find(with_features ? "egg-code" : "no polygons"), std::string::npos)
        << refused.output;
    EXPECT_FALSE(fs::exists(dir / "bad.tif"));
  }
}

}  // namespace
}  // namespace sarseg::io
