#include "sarseg/io/geotiff.h"

#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>

#include <cmath>

#include "io_test_util.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "support/geo_support.h"
#include "support/test_support.h"

namespace sarseg::io {
namespace {

namespace fs = std::filesystem;

GeoReference polar_grid() {
  return testing::polar_stereographic_grid(-100000.0, -900000.0, 80.0);
}

// Writes a plain GeoTIFF with GDAL directly (as SNAP or gdal_translate would).
void write_raw(const fs::path& path, int h, int w, const std::vector<std::vector<float>>& bands,
               const std::vector<std::string>& descriptions, const GeoReference* geo,
               GDALDataType type = GDT_Float32, const double* nodata = nullptr) {
  GDALAllRegister();
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  GDALDataset* ds =
      driver->Create(path.c_str(), w, h, static_cast<int>(bands.size()), type, nullptr);
  ASSERT_NE(ds, nullptr);
  if (geo) {
    auto t = geo->transform;
    ds->SetGeoTransform(t.data());
    OGRSpatialReference srs;
    srs.importFromWkt(geo->crs_wkt.c_str());
    ds->SetSpatialRef(&srs);
  }
  for (size_t b = 0; b < bands.size(); ++b) {
    GDALRasterBand* band = ds->GetRasterBand(static_cast<int>(b) + 1);
    if (b < descriptions.size()) band->SetDescription(descriptions[b].c_str());
    if (nodata) band->SetNoDataValue(*nodata);
    std::vector<float> data = bands[b];
    ASSERT_EQ(band->RasterIO(GF_Write, 0, 0, w, h, data.data(), w, h, GDT_Float32, 0, 0), CE_None);
  }
  GDALClose(ds);
}

TEST(GeoTiff, SceneRoundTripKeepsGridNodataAndMetadata) {
  testing::TempDir dir;
  Scene scene = test::make_scene();
  scene.geo = polar_grid();
  scene.bands[0].pixels.at(2, 3) = std::nanf("");  // NaN in a valid pixel -> invalid on read
  write_scene(scene, dir / "s.tif");
  ASSERT_TRUE(fs::exists(dir / "s_labels.tif"));

  const Scene back = read_scene(dir / "s.tif");
  ASSERT_TRUE(back.geo.has_value());
  EXPECT_TRUE(same_grid(*back.geo, *scene.geo));
  for (int i = 0; i < 6; ++i)
    EXPECT_DOUBLE_EQ(back.geo->transform[i], scene.geo->transform[i]);
  EXPECT_EQ(back.band_names(), scene.band_names());
  EXPECT_EQ(back.band("hh_db").units, "dB");
  EXPECT_EQ(back.season, Season::kWinter);
  EXPECT_EQ(back.acquisition_time, scene.acquisition_time);
  EXPECT_EQ(back.id, scene.id);
  EXPECT_EQ(back.ice_service, "cis");
  EXPECT_EQ(back.attributes.at("original_id"), scene.attributes.at("original_id"));
  EXPECT_DOUBLE_EQ(back.pixel_spacing_m, 80);
  for (int64_t r = 0; r < scene.height; ++r) {
    for (int64_t c = 0; c < scene.width; ++c) {
      const bool expected_valid = scene.is_valid(r, c) && !(r == 2 && c == 3);
      EXPECT_EQ(back.is_valid(r, c), expected_valid) << r << "," << c;
      if (expected_valid) {
        EXPECT_EQ(back.band("hv_db").pixels.at(r, c), scene.band("hv_db").pixels.at(r, c));
      }
      EXPECT_TRUE(std::isfinite(back.band("hh_db").pixels.at(r, c)));
    }
  }
  for (const auto& [name, raster] : scene.labels)
    EXPECT_EQ(back.labels.at(name).data, raster.data);

  // Nodata and band descriptions as GDAL sees them.
  GDALAllRegister();
  GDALDataset* ds = GDALDataset::Open((dir / "s_labels.tif").c_str(), GDAL_OF_RASTER);
  ASSERT_NE(ds, nullptr);
  int has_nodata = 0;
  EXPECT_EQ(ds->GetRasterBand(1)->GetNoDataValue(&has_nodata), 255.0);
  EXPECT_TRUE(has_nodata);
  EXPECT_STREQ(ds->GetRasterBand(1)->GetDescription(), "SIC");
  EXPECT_STREQ(ds->GetRasterBand(3)->GetDescription(), "FLOE");
  GDALClose(ds);
  ds = GDALDataset::Open((dir / "s.tif").c_str(), GDAL_OF_RASTER);
  EXPECT_TRUE(std::isnan(ds->GetRasterBand(2)->GetNoDataValue(&has_nodata)));
  EXPECT_TRUE(has_nodata);
  EXPECT_STREQ(ds->GetRasterBand(3)->GetDescription(), "incidence_deg");
  GDALClose(ds);

  // No temporaries left.
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path()))
    ++files;
  EXPECT_EQ(files, 2);
}

TEST(GeoTiff, LinearSigma0BecomesDbWithAFloorAndBandsChosenByNameOrIndex) {
  testing::TempDir dir;
  const GeoReference geo = polar_grid();
  const std::vector<float> hh = {0.1f, 0.01f, 0.0f, -1.0f, 1e-9f, 1.0f};
  const std::vector<float> hv = {0.001f, 0.002f, 0.003f, 0.004f, 0.005f, 0.006f};
  const std::vector<float> ia = {20, 25, 30, 35, 40, 45};
  write_raw(dir / "lin.tif", 2, 3, {hv, ia, hh}, {"Sigma0_HV", "incidenceAngle", "Sigma0_HH"},
            &geo);
  SceneReadOptions options;
  options.linear_to_db = true;
  options.db_floor = -35;
  options.bands = {"Sigma0_HH", "hv_db", "2"};
  const Scene scene = read_scene(dir / "lin.tif", options);
  EXPECT_EQ(scene.band_names(), (std::vector<std::string>{"hh_db", "hv_db", "incidence_deg"}));
  const auto& db = scene.band("hh_db").pixels.data;
  EXPECT_NEAR(db[0], -10.0f, 1e-5);
  EXPECT_NEAR(db[1], -20.0f, 1e-5);
  EXPECT_EQ(db[2], -35.0f);  // zero -> floor, never -inf
  EXPECT_EQ(db[3], -35.0f);
  EXPECT_EQ(db[4], -35.0f);  // -90 dB clamped to the floor
  EXPECT_NEAR(db[5], 0.0f, 1e-6);
  EXPECT_EQ(scene.band("incidence_deg").pixels.data, ia);  // not converted
  EXPECT_EQ(scene.band("hh_db").units, "dB");

  options.bands = {"7"};
  EXPECT_THROW(read_scene(dir / "lin.tif", options), UserError);
  options.bands = {"Sigma0_VV"};
  EXPECT_THROW(read_scene(dir / "lin.tif", options), UserError);
}

TEST(GeoTiff, UnnamedThreeBandStackAndNodata) {
  testing::TempDir dir;
  const double nodata = -9999;
  write_raw(dir / "plain.tif", 1, 3, {{-10, -9999, -12}, {-20, -21, -22}, {30, 31, 32}}, {},
            nullptr, GDT_Float32, &nodata);
  const Scene scene = read_scene(dir / "plain.tif");
  EXPECT_EQ(scene.band_names(), (std::vector<std::string>{"hh_db", "hv_db", "incidence_deg"}));
  EXPECT_FALSE(scene.geo.has_value());
  EXPECT_TRUE(scene.is_valid(0, 0));
  EXPECT_FALSE(scene.is_valid(0, 1));
  EXPECT_EQ(scene.band("hh_db").pixels.data[1], -11.0f);  // the valid mean, not -9999
}

TEST(GeoTiff, LabelGridMismatchRefusedOrResampled) {
  testing::TempDir dir;
  Scene scene = test::make_scene(8, 8);
  scene.labels.clear();
  scene.geo = polar_grid();
  write_scene(scene, dir / "s.tif");
  // Labels at twice the pixel size covering the same area: class = 10 * row + col of the
  // coarse grid.
  LabelRaster coarse(4, 4);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c)
      coarse.at(r, c) = static_cast<uint8_t>(10 * r + c);
  GeoReference coarse_geo = *scene.geo;
  coarse_geo.transform[1] = 160;
  coarse_geo.transform[5] = -160;
  write_label_geotiff(dir / "coarse.tif", {{"classes", coarse}}, coarse_geo);
  SceneReadOptions options;
  options.labels_path = dir / "coarse.tif";
  try {
    read_scene(dir / "s.tif", options);
    ADD_FAILURE() << "a label raster on another grid was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("coarse.tif"), std::string::npos);
  }
  options.resample_labels = true;
  const Scene resampled = read_scene(dir / "s.tif", options);
  const LabelRaster& labels = resampled.labels.at("classes");
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c)
      EXPECT_EQ(labels.at(r, c), 10 * (r / 2) + c / 2) << r << "," << c;

  // Same size, shifted origin: refused too.
  GeoReference shifted = *scene.geo;
  shifted.transform[0] += 80;
  write_label_geotiff(dir / "shifted.tif", {{"classes", LabelRaster(8, 8, 1)}}, shifted);
  options.labels_path = dir / "shifted.tif";
  options.resample_labels = false;
  EXPECT_THROW(read_scene(dir / "s.tif", options), UserError);
  options.resample_labels = true;
  const Scene moved = read_scene(dir / "s.tif", options);
  EXPECT_EQ(moved.labels.at("classes").at(0, 0), kLabelFill);  // west of the shifted raster
  EXPECT_EQ(moved.labels.at("classes").at(0, 1), 1);
}

TEST(GeoTiff, BadFilesAreRefusedNamingThem) {
  testing::TempDir dir;
  write_file_atomically(dir / "junk.tif", "not a tiff");
  try {
    read_scene(dir / "junk.tif");
    ADD_FAILURE();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("junk.tif"), std::string::npos);
  }
  // GDAL cannot write a band-less GeoTIFF, and refuses to open band-less files it knows (empty VRT,
  // vector-only GeoPackage); both must come back as one clear line naming the file.
  write_file_atomically(dir / "nobands.tif",
                        "<VRTDataset rasterXSize=\"4\" rasterYSize=\"4\"></VRTDataset>");
  try {
    read_scene(dir / "nobands.tif");
    ADD_FAILURE();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("nobands.tif"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
  EXPECT_THROW(write_float_geotiff(dir / "empty.tif", {}, std::nullopt), UserError);
  EXPECT_FALSE(fs::exists(dir / "empty.tif"));
}

}  // namespace
}  // namespace sarseg::io
