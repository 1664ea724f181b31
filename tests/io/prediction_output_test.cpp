// Prediction outputs: GeoTIFF class map with CRS, geotransform and nodata of the input,
// probabilities, quicklook, AutoICE submission netCDF, unwritable output folders.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sarseg/build_config.h"
#include "sarseg/io/image.h"
#include "sarseg/io/prediction_output.h"
#include "sarseg/util/error.h"
#include "support/geo_support.h"
#include "support/test_support.h"

#if SARSEG_HAVE_GDAL
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#endif
#if SARSEG_HAVE_NETCDF
#include <netcdf.h>
#endif

namespace sarseg::io {
namespace {

namespace fs = std::filesystem;

io::Scene geo_scene(const std::string& id, const std::string& source) {
  io::Scene scene;
  scene.id = id;
  scene.source_path = source;
  scene.height = 50;
  scene.width = 40;
  for (const char* name : {"hh_db", "hv_db"}) {
    io::Band band{name, "dB", io::FloatRaster(50, 40)};
    for (size_t i = 0; i < band.pixels.data.size(); ++i)
      band.pixels.data[i] = -20.0f + static_cast<float>(i % 17);
    scene.bands.push_back(band);
  }
  scene.geo = testing::polar_stereographic_grid(-1200000.0, 900000.0, 80.0);
  return scene;
}

LabelPrediction head(const std::string& label, int classes, bool probabilities) {
  LabelPrediction h;
  h.label = label;
  h.classes = io::LabelRaster(50, 40, 0);
  for (int64_t r = 0; r < 50; ++r)
    for (int64_t c = 0; c < 40; ++c)
      h.classes.at(r, c) = static_cast<uint8_t>((r / 10 + c / 10) % classes);
  h.classes.at(0, 0) = io::kLabelFill;  // invalid input pixel
  if (probabilities)
    for (int k = 0; k < classes; ++k)
      h.probabilities.emplace_back(50, 40, static_cast<uint8_t>(254 / classes));
  return h;
}

TEST(Predict, GeoTiffClassMapKeepsCrsTransformAndNodata) {
  if (!SARSEG_HAVE_GDAL) GTEST_SKIP() << "built without GDAL";
#if SARSEG_HAVE_GDAL
  testing::TempDir dir;
  const auto scene = geo_scene("s1", "/data/s1.tif");
  std::vector<LabelPrediction> prediction;
  prediction = {head("SOD", 6, true)};
  PredictOutputOptions options;
  options.probabilities = true;
  const auto written = write_prediction(scene, prediction, dir.path() / "out", options);
  EXPECT_EQ(written, prediction_paths(scene, prediction, dir.path() / "out", options));
  ASSERT_EQ(written.size(), 3u);  // classes, probabilities, quicklook (no submission for .tif)

  GDALAllRegister();
  auto* ds = static_cast<GDALDataset*>(GDALOpen(written[0].c_str(), GA_ReadOnly));
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->GetRasterXSize(), 40);
  EXPECT_EQ(ds->GetRasterYSize(), 50);
  ASSERT_EQ(ds->GetRasterCount(), 1);
  auto* band = ds->GetRasterBand(1);
  EXPECT_EQ(band->GetRasterDataType(), GDT_Byte);
  int has_nodata = 0;
  EXPECT_EQ(band->GetNoDataValue(&has_nodata), 255.0);
  EXPECT_TRUE(has_nodata);
  EXPECT_STREQ(band->GetDescription(), "SOD");
  double transform[6];
  ASSERT_EQ(ds->GetGeoTransform(transform), CE_None);
  for (int i = 0; i < 6; ++i)
    EXPECT_DOUBLE_EQ(transform[i], scene.geo->transform[static_cast<size_t>(i)]);
  OGRSpatialReference expected;
  expected.importFromEPSG(3413);
  ASSERT_NE(ds->GetSpatialRef(), nullptr);
  EXPECT_TRUE(ds->GetSpatialRef()->IsSame(&expected));
  std::vector<uint8_t> pixels(50 * 40);
  ASSERT_EQ(band->RasterIO(GF_Read, 0, 0, 40, 50, pixels.data(), 40, 50, GDT_Byte, 0, 0), CE_None);
  EXPECT_EQ(pixels, prediction[0].classes.data);
  GDALClose(ds);

  auto* probabilities = static_cast<GDALDataset*>(GDALOpen(written[1].c_str(), GA_ReadOnly));
  ASSERT_NE(probabilities, nullptr);
  EXPECT_EQ(probabilities->GetRasterCount(), 6);
  GDALClose(probabilities);

  const auto quicklook = io::read_image(written[2]);
  EXPECT_GT(quicklook.width, 40);
  EXPECT_GT(quicklook.height, 50);
#endif
}

TEST(Predict, AutoIceSubmissionForAi4ArcticInputWithThreeCharts) {
  if (!SARSEG_HAVE_NETCDF || !SARSEG_HAVE_GDAL) GTEST_SKIP() << "built without netCDF or GDAL";
#if SARSEG_HAVE_NETCDF
  testing::TempDir dir;
  const auto scene = geo_scene("20180124T194759_dmi_prep", "/data/20180124T194759_dmi_prep.nc");
  std::vector<LabelPrediction> prediction;
  prediction = {head("SIC", 11, false), head("SOD", 6, false), head("FLOE", 7, false)};
  PredictOutputOptions options;
  options.quicklook = false;
  const auto written = write_prediction(scene, prediction, dir.path(), options);
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[1].filename(), "20180124T194759_dmi_prep_submission.nc");

  int ncid = -1;
  ASSERT_EQ(nc_open(written[1].c_str(), NC_NOWRITE, &ncid), NC_NOERR);
  int nvars = 0;
  nc_inq_nvars(ncid, &nvars);
  EXPECT_EQ(nvars, 3);
  for (size_t h = 0; h < 3; ++h) {
    const std::string name = "20180124T194759_dmi_" + prediction[h].label;
    int varid = -1;
    ASSERT_EQ(nc_inq_varid(ncid, name.c_str(), &varid), NC_NOERR) << name;
    nc_type type;
    nc_inq_vartype(ncid, varid, &type);
    EXPECT_EQ(type, NC_UBYTE);
    int shuffle = 0, deflate = 0, level = 0;
    nc_inq_var_deflate(ncid, varid, &shuffle, &deflate, &level);
    EXPECT_TRUE(deflate);
    std::vector<uint8_t> values(50 * 40);
    ASSERT_EQ(nc_get_var_uchar(ncid, varid, values.data()), NC_NOERR);
    EXPECT_EQ(values, prediction[h].classes.data);
  }
  nc_close(ncid);

  // Not for GeoTIFF input, nor without all three charts.
  EXPECT_FALSE(autoice_submission_possible(geo_scene("x", "/data/x.tif"), prediction));
  prediction.pop_back();
  EXPECT_FALSE(autoice_submission_possible(scene, prediction));
#endif
}

TEST(Predict, UnwritableOutputFolderIsAUserErrorAndWritesNothing) {
  testing::TempDir dir;
  const fs::path blocker = dir.path() / "a_file";
  { std::ofstream(blocker) << "x"; }
  std::vector<LabelPrediction> prediction;
  prediction = {head("SOD", 6, false)};
  EXPECT_THROW(write_prediction(geo_scene("s", "s.tif"), prediction, blocker / "out", {}),
               UserError);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

}  // namespace
}  // namespace sarseg::io
