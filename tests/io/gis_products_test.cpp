// GIS products: Cloud-Optimised GeoTIFF layout (GDAL's own checks), QGIS styles that parse and
// name every class, GeoPackage polygons whose areas match the class map, and the ice edge.
#include <gtest/gtest.h>

#include <cpl_minixml.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <sys/wait.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "sarseg/io/gis_products.h"
#include "sarseg/io/prediction_output.h"
#include "sarseg/io/quicklook.h"
#include "support/geo_support.h"
#include "support/test_support.h"

namespace sarseg::io {
namespace {

namespace fs = std::filesystem;

constexpr double kSpacing = 40.0;  // metres per pixel

Scene grid_scene(int64_t height, int64_t width) {
  Scene scene;
  scene.id = "gis";
  scene.source_path = "/data/gis.tif";
  scene.height = height;
  scene.width = width;
  scene.geo = testing::polar_stereographic_grid(-1200000.0, 900000.0, kSpacing);
  return scene;
}

// Blocks of classes 0..5 with a diagonal stripe and a nodata corner.
LabelPrediction sod_head(int64_t height, int64_t width) {
  LabelPrediction head;
  head.label = "SOD";
  head.class_count = 6;
  head.classes = LabelRaster(height, width, 0);
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x) {
      uint8_t c = static_cast<uint8_t>((y / 97 + x / 131) % 6);
      if ((x + y) % 211 < 9) c = 4;
      if (y < 30 && x < 40) c = kLabelFill;
      head.classes.at(y, x) = c;
    }
  head.entropy = FloatRaster(height, width, 0.25f);
  head.mutual_information = FloatRaster(height, width, 0.05f);
  for (int k = 0; k < 6; ++k)
    head.probabilities.emplace_back(height, width, static_cast<uint8_t>(40));
  head.members = 5;
  return head;
}

struct DatasetCloser {
  void operator()(GDALDataset* ds) const { GDALClose(GDALDataset::ToHandle(ds)); }
};
using Dataset = std::unique_ptr<GDALDataset, DatasetCloser>;

Dataset open(const fs::path& path, unsigned flags) {
  GDALAllRegister();
  return Dataset(
      static_cast<GDALDataset*>(GDALOpenEx(path.c_str(), flags, nullptr, nullptr, nullptr)));
}

// GDAL's COG validator (Debian python3-gdal ships it with the samples), or "".
std::string cog_validator() {
  for (const char* path :
       {"/usr/lib/python3/dist-packages/osgeo_utils/samples/"
        "validate_cloud_optimized_geotiff.py",
        "/usr/share/doc/python3-gdal/examples/validate_cloud_optimized_geotiff.py"})
    if (fs::exists(path)) return path;
  return "";
}

struct Output {
  int exit_code = -1;
  std::string text;
};

Output run(const std::string& command) {
  Output out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return out;
  char buffer[512];
  while (fgets(buffer, sizeof(buffer), pipe))
    out.text += buffer;
  const int status = pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

void expect_cog(const fs::path& path) {
  SCOPED_TRACE(path.string());
  auto ds = open(path, GDAL_OF_RASTER | GDAL_OF_READONLY);
  ASSERT_NE(ds, nullptr);
  const char* layout = ds->GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE");
  ASSERT_NE(layout, nullptr);
  EXPECT_STREQ(layout, "COG");
  const char* compression = ds->GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE");
  ASSERT_NE(compression, nullptr);
  EXPECT_STREQ(compression, "DEFLATE");
  for (int b = 1; b <= ds->GetRasterCount(); ++b) {
    auto* band = ds->GetRasterBand(b);
    int block_x = 0, block_y = 0;
    band->GetBlockSize(&block_x, &block_y);
    EXPECT_EQ(block_x, 512);
    EXPECT_EQ(block_y, 512);
    EXPECT_GE(band->GetOverviewCount(), 1);  // 1200 x 1100 px: down to one tile
    int has_nodata = 0;
    band->GetNoDataValue(&has_nodata);
    EXPECT_TRUE(has_nodata);
  }
}

TEST(CloudOptimisedGeoTiff, PredictionRastersPassGdalLayoutChecks) {
  testing::TempDir dir;
  const auto scene = grid_scene(1100, 1200);
  PredictOutputOptions options;
  options.probabilities = true;
  options.quicklook = false;
  const auto written = write_prediction(scene, {sod_head(1100, 1200)}, dir.path(), options);
  ASSERT_EQ(written.size(), 3u);  // classes, probabilities, uncertainty
  EXPECT_EQ(written[2].filename(), "gis_SOD_uncertainty.tif");
  for (const auto& path : written)
    expect_cog(path);

  auto uncertainty = open(written[2], GDAL_OF_RASTER | GDAL_OF_READONLY);
  ASSERT_EQ(uncertainty->GetRasterCount(), 2);
  EXPECT_STREQ(uncertainty->GetRasterBand(1)->GetDescription(), "predictive_entropy");
  EXPECT_STREQ(uncertainty->GetRasterBand(2)->GetDescription(), "mutual_information");
  EXPECT_EQ(uncertainty->GetRasterBand(1)->GetRasterDataType(), GDT_Float32);
  EXPECT_STREQ(uncertainty->GetMetadataItem("ENSEMBLE_MEMBERS"), "5");

  const std::string validator = cog_validator();
  if (validator.empty()) GTEST_SKIP() << "GDAL's validate_cloud_optimized_geotiff.py not found";
  // Debian's python3-gdal belongs to the system Python, not to whatever python3 comes first.
  if (run("/usr/bin/python3 -c 'import osgeo.gdal'").exit_code != 0)
    GTEST_SKIP() << "/usr/bin/python3 cannot import osgeo.gdal (python3-gdal) for " << validator;
  for (const auto& path : written) {
    const auto result = run("/usr/bin/python3 " + validator + " " + path.string());
    EXPECT_EQ(result.exit_code, 0) << result.text;
    EXPECT_NE(result.text.find("is a valid cloud optimized GeoTIFF"), std::string::npos)
        << result.text;
  }
}

TEST(QgisStyle, ParsesAndNamesEveryClassWithTheQuicklookPalette) {
  for (const auto& [label, classes] :
       std::map<std::string, int>{{"SOD", 6}, {"SIC", 11}, {"FLOE", 7}, {"classes", 3}}) {
    SCOPED_TRACE(label);
    const std::string qml = qgis_class_style(label, classes, 2);
    CPLXMLNode* root = CPLParseXMLString(qml.c_str());
    ASSERT_NE(root, nullptr) << qml;
    const CPLXMLNode* renderer = CPLGetXMLNode(root, "=qgis.pipe.rasterrenderer");
    ASSERT_NE(renderer, nullptr);
    EXPECT_STREQ(CPLGetXMLValue(renderer, "type", ""), "paletted");
    EXPECT_STREQ(CPLGetXMLValue(renderer, "band", ""), "2");
    const Palette palette = palette_for_label(label, classes);
    int entries = 0;
    for (const CPLXMLNode* node = CPLGetXMLNode(renderer, "colorPalette")->psChild; node;
         node = node->psNext) {
      if (node->eType != CXT_Element || std::string(node->pszValue) != "paletteEntry") continue;
      const int value = std::atoi(CPLGetXMLValue(node, "value", "-1"));
      ASSERT_EQ(value, entries);
      EXPECT_EQ(CPLGetXMLValue(node, "label", ""), palette.names[static_cast<size_t>(value)]);
      const auto& rgb = palette.colours[static_cast<size_t>(value)];
      char colour[8];
      std::snprintf(colour, sizeof(colour), "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
      EXPECT_STREQ(CPLGetXMLValue(node, "color", ""), colour);
      ++entries;
    }
    EXPECT_EQ(entries, classes);
    const CPLXMLNode* transparent =
        CPLGetXMLNode(renderer, "rasterTransparency.singleValuePixelList.pixelListEntry");
    ASSERT_NE(transparent, nullptr);
    EXPECT_STREQ(CPLGetXMLValue(transparent, "min", ""), "255");
    EXPECT_STREQ(CPLGetXMLValue(transparent, "percentTransparent", ""), "100");
    CPLDestroyXMLNode(root);
  }
}

TEST(QgisStyle, WrittenBesideTheClassMapForEachHead) {
  testing::TempDir dir;
  const auto scene = grid_scene(60, 50);
  auto sod = sod_head(60, 50);
  auto floe = sod;
  floe.label = "FLOE";
  floe.class_count = 7;
  PredictOutputOptions options;
  options.quicklook = false;
  options.qgis_style = true;
  const auto written = write_prediction(scene, {sod, floe}, dir.path(), options);
  EXPECT_EQ(written, prediction_paths(scene, {sod, floe}, dir.path(), options));
  EXPECT_TRUE(fs::exists(dir / "gis_classes.qml"));
  EXPECT_TRUE(fs::exists(dir / "gis_classes_FLOE.qml"));
}

struct LayerFeatures {
  int count = 0;
  std::map<int, double> area;     // per class
  std::map<int, int> polygons;    // per class
  std::map<int, int64_t> pixels;  // per class
};

LayerFeatures read_classes(GDALDataset& ds, const std::string& layer_name) {
  LayerFeatures result;
  OGRLayer* layer = ds.GetLayerByName(layer_name.c_str());
  EXPECT_NE(layer, nullptr) << layer_name;
  if (!layer) return result;
  for (auto& feature : *layer) {
    const int c = feature->GetFieldAsInteger("class_id");
    const auto* geometry = feature->GetGeometryRef();
    result.area[c] += geometry->toPolygon()->get_Area();
    EXPECT_NEAR(feature->GetFieldAsDouble("area"), geometry->toPolygon()->get_Area(), 1e-6);
    result.pixels[c] += feature->GetFieldAsInteger64("pixels");
    EXPECT_NEAR(feature->GetFieldAsDouble("mean_entropy"), 0.25, 1e-6);
    ++result.polygons[c];
    ++result.count;
  }
  return result;
}

TEST(GeoPackage, PolygonAreasPerClassMatchTheClassMap) {
  testing::TempDir dir;
  const auto scene = grid_scene(400, 500);
  const auto head = sod_head(400, 500);
  const auto path = dir / "v.gpkg";
  write_prediction_vectors(path, {head}, scene.geo);
  auto ds = open(path, GDAL_OF_VECTOR | GDAL_OF_READONLY);
  ASSERT_NE(ds, nullptr);
  const auto features = read_classes(*ds, "SOD_classes");
  std::map<int, int64_t> counted;
  for (uint8_t v : head.classes.data)
    if (v != kLabelFill) ++counted[v];
  ASSERT_EQ(features.area.size(), counted.size());
  const double pixel_area = kSpacing * kSpacing;
  const Palette palette = palette_for_label("SOD", 6);
  for (const auto& [c, n] : counted) {
    SCOPED_TRACE("class " + std::to_string(c));
    const double expected = static_cast<double>(n) * pixel_area;
    EXPECT_NEAR(features.area.at(c), expected, features.polygons.at(c) * pixel_area);
    EXPECT_EQ(features.pixels.at(c), n);
  }
  EXPECT_GT(features.count, 20);
  // Names and CRS.
  OGRLayer* layer = ds->GetLayerByName("SOD_classes");
  layer->ResetReading();
  std::unique_ptr<OGRFeature> first(layer->GetNextFeature());
  EXPECT_EQ(first->GetFieldAsString("class_name"),
            palette.names[static_cast<size_t>(first->GetFieldAsInteger("class_id"))]);
  ASSERT_NE(layer->GetSpatialRef(), nullptr);
  OGRSpatialReference expected_srs;
  expected_srs.importFromEPSG(3413);
  EXPECT_TRUE(layer->GetSpatialRef()->IsSame(&expected_srs));
}

// SIC in tenths: 0 | 1 (10 %, below the 15 % edge) | 5; nodata along the top rows.
TEST(GeoPackage, IceEdgeIsTheBoundaryOfFifteenPercentConcentration) {
  testing::TempDir dir;
  const int64_t height = 90, width = 120;
  const auto scene = grid_scene(height, width);
  LabelPrediction sic;
  sic.label = "SIC";
  sic.class_count = 11;
  sic.classes = LabelRaster(height, width, 0);
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x)
      sic.classes.at(y, x) = y < 10 ? kLabelFill : x < 40 ? 0 : x < 80 ? 1 : 5;
  const auto path = dir / "edge.gpkg";
  write_prediction_vectors(path, {sic}, scene.geo);
  auto ds = open(path, GDAL_OF_VECTOR | GDAL_OF_READONLY);
  ASSERT_NE(ds, nullptr);
  OGRLayer* edge = ds->GetLayerByName("ice_edge");
  ASSERT_NE(edge, nullptr);
  double length = 0;
  int features = 0;
  for (auto& feature : *edge) {
    length += feature->GetFieldAsDouble("length");
    EXPECT_NEAR(feature->GetFieldAsDouble("ice_area"), 40.0 * 80.0 * kSpacing * kSpacing, 1e-3);
    EXPECT_STREQ(feature->GetFieldAsString("class_name"), "ice edge (SIC >= 15 %)");
    EXPECT_TRUE(feature->IsFieldNull(feature->GetFieldIndex("mean_entropy")));
    ++features;
  }
  EXPECT_EQ(features, 1);
  // Only the line between the 10 % and the 50 % columns: 80 valid rows; not the scene border.
  EXPECT_NEAR(length, 80.0 * kSpacing, 1e-6);
}

TEST(GeoPackage, SodIceEdgeIsTheWaterIceBoundary) {
  const int64_t height = 50, width = 60;
  LabelPrediction sod;
  sod.label = "SOD";
  sod.class_count = 6;
  sod.classes = LabelRaster(height, width, 0);
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x)
      sod.classes.at(y, x) = y >= 20 ? (x < 30 ? 3 : 5) : 0;  // two ice types below water
  testing::TempDir dir;
  write_prediction_vectors(dir / "sod.gpkg", {sod}, grid_scene(height, width).geo);
  auto ds = open(dir / "sod.gpkg", GDAL_OF_VECTOR | GDAL_OF_READONLY);
  ASSERT_NE(ds, nullptr);
  double length = 0;
  for (auto& feature : *ds->GetLayerByName("ice_edge"))
    length += feature->GetFieldAsDouble("length");
  EXPECT_NEAR(length, 60.0 * kSpacing, 1e-6);  // the row between water and ice, whole width
}

}  // namespace
}  // namespace sarseg::io
