#include "sarseg/io/chart.h"

#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_geometry.h>
#include <ogrsf_frmts.h>

#include <chrono>
#include <iostream>

#include <map>
#include <memory>

#include "sarseg/io/geotiff.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/util/error.h"
#include "support/geo_support.h"
#include "support/test_support.h"

namespace sarseg::io {
namespace {

namespace fs = std::filesystem;

const char* kChartLayer = "cis_SGRDREA_20201102T1800Z_pl_a_with_new_id";

fs::path chart_path() {
  return testing::shared_dir() / "fixtures/cis_chart_20201102/cis_SGRDREA_20201102T.gpkg";
}

// ---- An independent, table-driven statement of the AI4Arctic rules (paper-and-dataset.md 2.3),
// written separately from src/io/chart.cpp so the two can disagree.
const std::map<int, int> kSicTable = {{0, 0},  {1, 0},  {2, 0},  {55, 0},  {10, 1},
                                      {20, 2}, {30, 3}, {40, 4}, {50, 5},  {60, 6},
                                      {70, 7}, {80, 8}, {90, 9}, {91, 10}, {92, 10}};
const std::map<int, int> kSodTable = {{0, 0},  {80, 0}, {81, 1}, {82, 1}, {83, 2}, {84, 2},
                                      {85, 2}, {87, 3}, {88, 3}, {89, 3}, {86, 4}, {91, 4},
                                      {93, 4}, {95, 5}, {96, 5}, {97, 5}};
const std::map<int, int> kFloeTable = {{0, 0}, {2, 1}, {3, 2}, {4, 3}, {5, 4},
                                       {6, 5}, {7, 5}, {9, 6}, {10, 6}};

int lookup(const std::map<int, int>& table, int code) {
  auto it = table.find(code);
  return it == table.end() ? 255 : it->second;
}

struct Expected {
  int sic = 255, sod = 255, floe = 255;
};

// fields: CT, CA, SA, FA, CB, SB, FB, CC, SC, FC (-9 = empty)
Expected expected_classes(const std::string& poly_type, const std::array<int, 10>& f) {
  if (poly_type == "W") return {0, 0, 0};
  if (poly_type != "I") return {};
  Expected e;
  e.sic = lookup(kSicTable, f[0]);
  if (e.sic == 255) return e;
  if (e.sic == 0) return {0, 0, 0};
  auto decide = [&](const std::map<int, int>& table, int first_field) {
    std::map<int, double> share;  // class -> tenths
    for (int k = 0; k < 3; ++k) {
      int tenths = lookup(kSicTable, f[static_cast<size_t>(1 + 3 * k)]);
      if (tenths == 255) tenths = 0;
      if (k == 0 && f[1] == -9) tenths = e.sic;
      if (tenths > 0) share[lookup(table, f[static_cast<size_t>(first_field + 3 * k)])] += tenths;
    }
    int best = 255;
    double best_share = 0;
    for (const auto& [cls, tenths] : share)
      if (tenths > best_share) best = cls, best_share = tenths;
    return best_share / e.sic >= 0.65 ? best : 255;
  };
  e.sod = decide(kSodTable, 2);
  e.floe = decide(kFloeTable, 3);
  if (f[3] == 8 || f[6] == 8 || f[9] == 8) e.floe = 255;
  return e;
}

EggCode egg(const std::string& type, const std::array<int, 10>& f) {
  EggCode c;
  c.poly_type = type;
  c.ct = f[0];
  c.ca = f[1], c.sa = f[2], c.fa = f[3];
  c.cb = f[4], c.sb = f[5], c.fb = f[6];
  c.cc = f[7], c.sc = f[8], c.fc = f[9];
  return c;
}

TEST(Chart, EggCodeConversionByHand) {
  struct Case {
    std::string type;
    std::array<int, 10> fields;
    int sic, sod, floe;
  };
  const std::vector<Case> cases = {
      // 10/10 fast thin first-year ice: one type, CA empty -> CT; fast ice masks FLOE.
      {"I", {92, -9, 87, 8, -9, -9, -9, -9, -9, -9}, 10, 3, 255},
      // 9/10 split 5 thin FYI + 4 thick FYI: 5/9 < 65 % -> SOD masked.
      {"I", {90, 50, 87, 4, 40, 86, 4, -9, -9, -9}, 9, 255, 3},
      // 8/10: 3 nilas + 3 new ice (same class, summed to 6/8 = 75 %) + 2 thin FYI.
      {"I", {80, 30, 81, 4, 30, 82, 4, 20, 87, 5}, 8, 1, 3},
      // 2/10 old ice of 3/10: 67 % passes the 65 % threshold; forms 6 and 7 are both "vast".
      {"I", {30, 20, 95, 6, 10, 87, 7, -9, -9, -9}, 3, 5, 5},
      {"W", {-9, -9, -9, -9, -9, -9, -9, -9, -9, -9}, 0, 0, 0},
      {"L", {-9, -9, -9, -9, -9, -9, -9, -9, -9, -9}, 255, 255, 255},
      {"S", {92, -9, 98, -9, -9, -9, -9, -9, -9, -9}, 255, 255, 255},
      // Bergy water: SIC 0, so SOD and FLOE are 0 whatever the codes say.
      {"I", {2, -9, 98, 10, -9, -9, -9, -9, -9, -9}, 0, 0, 0},
      // Unknown stage 99 dominates -> masked; floe 10 (bergs) -> 6.
      {"I", {10, -9, 99, 10, -9, -9, -9, -9, -9, -9}, 1, 255, 6},
  };
  for (const auto& c : cases) {
    const ChartClasses got = egg_code_to_classes(egg(c.type, c.fields));
    EXPECT_EQ(got.sic, c.sic) << c.type << " CT " << c.fields[0];
    EXPECT_EQ(got.sod, c.sod) << c.type << " CT " << c.fields[0];
    EXPECT_EQ(got.floe, c.floe) << c.type << " CT " << c.fields[0];
    const Expected independent = expected_classes(c.type, c.fields);
    EXPECT_EQ(independent.sic, c.sic);
    EXPECT_EQ(independent.sod, c.sod);
    EXPECT_EQ(independent.floe, c.floe);
  }
  EXPECT_EQ(parse_egg_field("08"), 8);
  EXPECT_EQ(parse_egg_field("-9"), kEggEmpty);
  EXPECT_EQ(parse_egg_field(""), kEggEmpty);
  EXPECT_EQ(parse_egg_field("x1"), kEggEmpty);
}

struct Dataset {
  GDALDataset* ds = nullptr;
  ~Dataset() {
    if (ds) GDALClose(ds);
  }
};

int field_or_empty(OGRFeature& feature, const char* name) {
  const int i = feature.GetFieldIndex(name);
  if (i < 0 || !feature.IsFieldSetAndNotNull(i)) return -9;
  return parse_egg_field(feature.GetFieldAsString(i));
}

// The real CIS chart, rasterised onto a polar-stereographic grid (so the polygons are
// reprojected from the chart's Lambert conformal conic): every pixel centre well inside a polygon
// must carry that polygon's classes, computed here from its attributes.
TEST(Chart, RealCisChartRasterisesToEachPolygonsClasses) {
  GDALAllRegister();
  Dataset chart;
  chart.ds = GDALDataset::Open(chart_path().c_str(), GDAL_OF_VECTOR);
  ASSERT_NE(chart.ds, nullptr);
  OGRLayer* layer = chart.ds->GetLayerByName(kChartLayer);
  ASSERT_NE(layer, nullptr);
  OGRSpatialReference chart_srs(*layer->GetSpatialRef());
  chart_srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  OGRSpatialReference polar;
  polar.importFromEPSG(3413);
  polar.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::unique_ptr<OGRCoordinateTransformation> to_polar(
      OGRCreateCoordinateTransformation(&chart_srs, &polar));
  std::unique_ptr<OGRCoordinateTransformation> to_chart(
      OGRCreateCoordinateTransformation(&polar, &chart_srs));
  ASSERT_TRUE(to_polar && to_chart);

  // A 240 x 240 grid of 5 km pixels centred on the middle of the chart.
  OGREnvelope extent;
  ASSERT_EQ(layer->GetExtent(&extent), OGRERR_NONE);
  double cx = (extent.MinX + extent.MaxX) / 2, cy = (extent.MinY + extent.MaxY) / 2;
  ASSERT_TRUE(to_polar->Transform(1, &cx, &cy));
  const int size = 240;
  const double spacing = 5000;
  Scene like;
  like.id = "like";
  like.source_path = "like grid";
  like.height = like.width = size;
  like.bands.push_back({"hh_db", "dB", FloatRaster(size, size)});
  GeoReference geo;
  geo.transform = {cx - size / 2 * spacing, spacing, 0, cy + size / 2 * spacing, 0, -spacing};
  char* wkt = nullptr;
  polar.exportToWkt(&wkt);
  geo.crs_wkt = wkt;
  CPLFree(wkt);
  like.geo = geo;

  ChartRasterizeOptions options;
  options.layer = kChartLayer;
  const auto start = std::chrono::steady_clock::now();
  const auto labels = rasterize_chart(chart_path(), like, options);
  std::cout << "rasterize_chart: "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s\n";
  ASSERT_EQ(labels.size(), 3u);

  // Expected classes per feature id, from the attributes.
  std::map<GIntBig, Expected> expected;
  for (auto& feature : *layer) {
    const int pt = feature->GetFieldIndex("POLY_TYPE");
    const std::string type = feature->IsFieldSetAndNotNull(pt) ? feature->GetFieldAsString(pt) : "";
    const char* names[] = {"CT", "CA", "SA", "FA", "CB", "SB", "FB", "CC", "SC", "FC"};
    std::array<int, 10> fields{};
    for (size_t i = 0; i < 10; ++i)
      fields[i] = field_or_empty(*feature, names[i]);
    expected[feature->GetFID()] = expected_classes(type, fields);
  }

  // Prepared geometries with their envelopes make the point-in-polygon checks fast.
  struct Polygon {
    GIntBig fid;
    std::unique_ptr<OGRGeometry> geometry;
    OGRPreparedGeometryUniquePtr prepared;
    OGREnvelope envelope;
  };
  std::vector<Polygon> polygons;
  for (auto& feature : *layer) {
    const OGRGeometry* g = feature->GetGeometryRef();
    if (!g) continue;
    Polygon p;
    p.fid = feature->GetFID();
    p.geometry.reset(g->clone());
    p.prepared = OGRPreparedGeometryUniquePtr(
        OGRCreatePreparedGeometry(OGRGeometry::ToHandle(p.geometry.get())));
    p.geometry->getEnvelope(&p.envelope);
    polygons.push_back(std::move(p));
  }
  // The polygon holding a point, -1 for none, -2 for several.
  auto polygon_at = [&](double x, double y) {
    OGRPoint point(x, y);
    long found = -1;
    for (size_t i = 0; i < polygons.size(); ++i) {
      const auto& e = polygons[i].envelope;
      if (x < e.MinX || x > e.MaxX || y < e.MinY || y > e.MaxY) continue;
      if (!OGRPreparedGeometryContains(polygons[i].prepared.get(), OGRGeometry::ToHandle(&point)))
        continue;
      if (found != -1) return -2L;
      found = static_cast<long>(i);
    }
    return found;
  };

  int checked = 0;
  std::map<int, int> sod_seen;
  for (int row = 1; row < size; row += 3) {
    for (int col = 1; col < size; col += 3) {
      // Away from edges: the pixel centre and 8 points 1.5 pixels around it (in the scene CRS)
      // must all fall in the same single polygon.
      long polygon = -3;
      for (int dy = -1; dy <= 1 && polygon != -1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          double x = geo.transform[0] + (col + 0.5 + 1.5 * dx) * spacing;
          double y = geo.transform[3] - (row + 0.5 + 1.5 * dy) * spacing;
          const long here = to_chart->Transform(1, &x, &y) ? polygon_at(x, y) : -1;
          if (here < 0 || (polygon != -3 && here != polygon)) {
            polygon = -1;
            break;
          }
          polygon = here;
        }
      }
      if (polygon < 0) continue;
      const GIntBig fid = polygons[static_cast<size_t>(polygon)].fid;
      const Expected e = expected.at(fid);
      EXPECT_EQ(labels.at("SIC").at(row, col), e.sic) << "feature " << fid;
      EXPECT_EQ(labels.at("SOD").at(row, col), e.sod) << "feature " << fid;
      EXPECT_EQ(labels.at("FLOE").at(row, col), e.floe) << "feature " << fid;
      ++sod_seen[e.sod];
      ++checked;
    }
  }
  // The grid must exercise the chart: many pixels, and ice, water and masked classes among them.
  EXPECT_GT(checked, 1500);
  EXPECT_GE(sod_seen.size(), 3u);

  // The same grid as an AI4Arctic swath scene: no map grid, only a 13 x 13 lat/lon subgrid
  // spanning the first to the last pixel centre. The labels must match the map-grid ones except
  // near polygon edges.
  OGRSpatialReference wgs84;
  wgs84.SetWellKnownGeogCS("WGS84");
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::unique_ptr<OGRCoordinateTransformation> to_lat_lon(
      OGRCreateCoordinateTransformation(&polar, &wgs84));
  Scene swath = like;
  swath.geo.reset();
  swath.latitude_grid = FloatRaster(13, 13);
  swath.longitude_grid = FloatRaster(13, 13);
  for (int i = 0; i < 13; ++i) {
    for (int j = 0; j < 13; ++j) {
      const double pixel_row = i * (size - 1) / 12.0, pixel_col = j * (size - 1) / 12.0;
      double x = geo.transform[0] + (pixel_col + 0.5) * spacing;
      double y = geo.transform[3] - (pixel_row + 0.5) * spacing;
      ASSERT_TRUE(to_lat_lon->Transform(1, &x, &y));
      swath.longitude_grid.at(i, j) = static_cast<float>(x);
      swath.latitude_grid.at(i, j) = static_cast<float>(y);
    }
  }
  const auto swath_labels = rasterize_chart(chart_path(), swath, options);
  for (const char* name : {"SIC", "SOD", "FLOE"}) {
    int same = 0;
    const auto& a = labels.at(name).data;
    const auto& b = swath_labels.at(name).data;
    for (size_t i = 0; i < a.size(); ++i)
      same += a[i] == b[i];
    EXPECT_GT(same, static_cast<int>(0.97 * static_cast<double>(a.size()))) << name;
  }
}

void write_layer(const fs::path& path, bool with_egg_fields, int polygons) {
  GDALAllRegister();
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GPKG");
  GDALDataset* ds = driver->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr);
  ASSERT_NE(ds, nullptr);
  OGRSpatialReference srs;
  srs.importFromEPSG(3413);
  OGRLayer* layer = ds->CreateLayer("chart", &srs, wkbPolygon, nullptr);
  for (const char* field : {"CT", "CA", "SA", "FA"}) {
    OGRFieldDefn definition(with_egg_fields ? field : (std::string("X") + field).c_str(),
                            OFTString);
    ASSERT_EQ(layer->CreateField(&definition), OGRERR_NONE);
  }
  for (int i = 0; i < polygons; ++i) {
    OGRFeature feature(layer->GetLayerDefn());
    feature.SetField(0, "92");
    OGRPolygon polygon;
    OGRLinearRing ring;
    ring.addPoint(0, 0);
    ring.addPoint(1000, 0);
    ring.addPoint(1000, 1000);
    ring.addPoint(0, 0);
    polygon.addRing(&ring);
    feature.SetGeometry(&polygon);
    ASSERT_EQ(layer->CreateFeature(&feature), OGRERR_NONE);
  }
  GDALClose(ds);
}

TEST(Chart, BadChartsAreRefused) {
  testing::TempDir dir;
  Scene like;
  like.height = like.width = 4;
  like.source_path = "like";
  like.geo = testing::polar_stereographic_grid(0, 1000, 250);
  write_layer(dir / "no_fields.gpkg", false, 1);
  try {
    rasterize_chart(dir / "no_fields.gpkg", like);
    ADD_FAILURE();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("egg-code"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no_fields.gpkg"), std::string::npos);
  }
  write_layer(dir / "empty.gpkg", true, 0);
  try {
    rasterize_chart(dir / "empty.gpkg", like);
    ADD_FAILURE();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no polygons"), std::string::npos) << e.what();
  }
  ChartRasterizeOptions options;
  options.layer = "nope";
  EXPECT_THROW(rasterize_chart(chart_path(), like, options), UserError);
  Scene no_grid = like;
  no_grid.geo.reset();
  EXPECT_THROW(rasterize_chart(chart_path(), no_grid), UserError);
}

}  // namespace
}  // namespace sarseg::io
