// Sentinel-1 test products: the real IW GRDH annotation of ../shared/fixtures with a measurement
// raster the test writes, and the XML numbers read straight from the fixture (pugixml here, not
// the reader under test).
#pragma once

#include <gdal_priv.h>

#include <pugixml.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace sarseg::io::test {

inline const char* kFixtureSafe =
    "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE";
inline const char* kFixtureStem = "s1b-iw-grd-vv-20211223t051122-20211223t051147-030148-039993-001";
inline constexpr int64_t kFixtureLines = 16705;
inline constexpr int64_t kFixtureSamples = 26102;

inline std::filesystem::path fixture_safe() {
  return testing::shared_dir() / "fixtures" / "s1_safe_iw_grdh_20211223" / kFixtureSafe;
}

// A digital number for every (line, pixel): never 0 (0 is no data).
inline uint16_t fixture_dn(int64_t line, int64_t pixel) {
  return static_cast<uint16_t>(60 + (line * 7 + pixel * 3) % 900);
}

struct DnRegion {
  int64_t line0, pixel0, lines, pixels;
};

// Copies the fixture's XML into `dir` and writes a full-size sparse, tiled, DEFLATE measurement
// raster holding fixture_dn() in `regions` and 0 (no data) elsewhere. Returns the SAFE folder.
inline std::filesystem::path make_fixture_product(const std::filesystem::path& dir,
                                                  const std::vector<DnRegion>& regions) {
  namespace fs = std::filesystem;
  const fs::path source = fixture_safe();
  const fs::path safe = dir / kFixtureSafe;
  fs::create_directories(safe / "annotation" / "calibration");
  fs::create_directories(safe / "measurement");
  fs::copy_file(source / "manifest.safe", safe / "manifest.safe");
  const std::string stem = kFixtureStem;
  fs::copy_file(source / "annotation" / (stem + ".xml"), safe / "annotation" / (stem + ".xml"));
  for (const char* kind : {"calibration-", "noise-"}) {
    const std::string name = std::string(kind) + stem + ".xml";
    fs::copy_file(source / "annotation" / "calibration" / name,
                  safe / "annotation" / "calibration" / name);
  }
  GDALAllRegister();
  const char* options[] = {"TILED=YES",        "BLOCKXSIZE=256", "BLOCKYSIZE=256",
                           "COMPRESS=DEFLATE", "SPARSE_OK=TRUE", nullptr};
  GDALDatasetUniquePtr dataset(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(
      (safe / "measurement" / (stem + ".tiff")).c_str(), kFixtureSamples, kFixtureLines, 1,
      GDT_UInt16, const_cast<char**>(options)));
  for (const auto& region : regions) {
    std::vector<uint16_t> dn(static_cast<size_t>(region.lines * region.pixels));
    for (int64_t l = 0; l < region.lines; ++l)
      for (int64_t p = 0; p < region.pixels; ++p)
        dn[static_cast<size_t>(l * region.pixels + p)] =
            fixture_dn(region.line0 + l, region.pixel0 + p);
    EXPECT_EQ(dataset->GetRasterBand(1)->RasterIO(
                  GF_Write, static_cast<int>(region.pixel0), static_cast<int>(region.line0),
                  static_cast<int>(region.pixels), static_cast<int>(region.lines), dn.data(),
                  static_cast<int>(region.pixels), static_cast<int>(region.lines), GDT_UInt16, 0, 0,
                  nullptr),
              CE_None);
  }
  return safe;
}

inline std::vector<double> xml_numbers(const pugi::xml_node& node) {
  std::vector<double> values;
  std::istringstream in(node.child_value());
  double v;
  while (in >> v)
    values.push_back(v);
  return values;
}

// Vectors of one kind as (line, pixels, values), read from the fixture's XML directly.
struct XmlVector {
  int64_t line;
  std::vector<double> pixels, values;
};

inline std::vector<XmlVector> fixture_vectors(const std::string& file, const char* list,
                                              const char* vector, const char* values) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_file(file.c_str()));
  std::vector<XmlVector> out;
  for (const auto v : doc.document_element().child(list).children(vector)) {
    out.push_back({std::stoll(v.child_value("line")), xml_numbers(v.child("pixel")),
                   xml_numbers(v.child(values))});
  }
  return out;
}

inline std::string fixture_calibration_file() {
  return (fixture_safe() / "annotation" / "calibration" /
          (std::string("calibration-") + kFixtureStem + ".xml"))
      .string();
}
inline std::string fixture_noise_file() {
  return (fixture_safe() / "annotation" / "calibration" /
          (std::string("noise-") + kFixtureStem + ".xml"))
      .string();
}
inline std::string fixture_annotation_file() {
  return (fixture_safe() / "annotation" / (std::string(kFixtureStem) + ".xml")).string();
}

}  // namespace sarseg::io::test
