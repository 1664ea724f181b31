// `sarseg s1 import` end to end: SAFE folders and zips to GeoTIFF and netCDF scenes that `scene
// info` and `chart rasterize` read, and damaged products (exit 2, one line naming the file and
// element, no output written).
#include <cpl_conv.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <sstream>

#include "sarseg/io/scene_io.h"
#include "sarseg/io/sentinel1.h"
#include "sarseg/synth/s1_product.h"
#include "sarseg/util/atomic_file.h"
#include "support/test_support.h"

namespace sarseg::io {
namespace {

namespace fs = std::filesystem;

std::string q(const fs::path& p) {
  return "'" + p.string() + "'";
}

bool is_one_error_line(const std::string& output) {
  return output.rfind("sarseg: error: ", 0) == 0 && output.find('\n') == output.size() - 1;
}

synth::S1ProductSpec small_ew() {
  synth::S1ProductSpec spec;
  spec.lines = 300;
  spec.samples = 900;
  spec.compress = true;
  return spec;
}

TEST(CliS1Import, ZipAndSafeToGeoTiffAndNetcdf) {
  testing::TempDir dir;
  const auto files = synth::write_s1_product(small_ew(), dir.path(), /*zip=*/true);
  const auto tif = testing::run_sarseg("s1 import " + q(files.zip) + " --out " + q(dir / "s.tif"));
  ASSERT_EQ(tif.exit_code, 0) << tif.output;
  EXPECT_NE(tif.output.find("150 x 450 pixels at 80 m"), std::string::npos) << tif.output;
  EXPECT_NE(tif.output.find("range and azimuth vectors"), std::string::npos) << tif.output;
  const auto info = testing::run_sarseg("scene info " + q(dir / "s.tif"));
  ASSERT_EQ(info.exit_code, 0) << info.output;
  for (const char* expected : {"150 x 450", "hh_db [dB] hv_db [dB] incidence_deg [deg]",
                               "season:        freeze-up", "2020-11-01T21:45:50Z"})
    EXPECT_NE(info.output.find(expected), std::string::npos) << expected << "\n" << info.output;

  const auto nc = testing::run_sarseg("s1 import " + q(files.safe) + " --out " + q(dir / "s.nc") +
                                      " --backscatter gamma0 --no-noise-removal");
  ASSERT_EQ(nc.exit_code, 0) << nc.output;
  EXPECT_NE(nc.output.find("gamma0, noise removal: off"), std::string::npos) << nc.output;
  SceneReadOptions physical;
  physical.physical_units = true;
  const Scene scene = read_scene(dir / "s.nc", physical);
  EXPECT_EQ(scene.height, 150);
  EXPECT_EQ(scene.latitude_grid.height, 10);  // the tie-point subgrid, as AI4Arctic files have
  EXPECT_EQ(scene.band("hh_db").units, "dB");
}

TEST(CliS1Import, WarpedSceneTakesAChartRasterized) {
  testing::TempDir dir;
  const auto files = synth::write_s1_product(small_ew(), dir.path());
  const auto r = testing::run_sarseg("s1 import " + q(files.safe) + " --crs EPSG:3413 --out " +
                                     q(dir / "w.tif"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto info = testing::run_sarseg("scene info " + q(dir / "w.tif"));
  EXPECT_NE(info.output.find("NSIDC Sea Ice Polar Stereographic North"), std::string::npos)
      << info.output;
  const fs::path chart =
      testing::shared_dir() / "fixtures" / "cis_chart_20201102" / "cis_SGRDREA_20201102T.gpkg";
  const auto c = testing::run_sarseg("chart rasterize " + q(chart) + " --like " + q(dir / "w.tif") +
                                     " --out " + q(dir / "w_labels.tif"));
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const auto labelled = testing::run_sarseg("scene info " + q(dir / "w.tif"));
  EXPECT_NE(labelled.output.find("label SIC"), std::string::npos) << labelled.output;
}

TEST(CliS1Import, DamagedProductsExitTwoNamingFileAndElementAndWriteNothing) {
  testing::TempDir dir;
  struct Case {
    std::string name;
    std::function<fs::path(const fs::path&)> make;  // returns the product path
    std::vector<std::string> expected;
  };
  auto product = [](const fs::path& d) { return synth::write_s1_product(small_ew(), d).safe; };
  auto file_of = [](const fs::path& safe, const std::string& folder, const std::string& prefix) {
    for (const auto& e : fs::directory_iterator(safe / folder))
      if (e.path().filename().string().rfind(prefix, 0) == 0) return e.path();
    return fs::path();
  };
  const std::vector<Case> cases = {
      {"malformed calibration",
       [&](const fs::path& d) {
         const auto safe = product(d);
         const auto f = file_of(safe, "annotation/calibration", "calibration-s1a-ew-grd-hv");
         const std::string text = read_file(f);
         write_file_atomically(f, text.substr(0, text.size() - 200));
         return safe;
       },
       {"calibration-s1a-ew-grd-hv", "malformed XML"}},
      {"missing element",
       [&](const fs::path& d) {
         const auto safe = product(d);
         const auto f = file_of(safe, "annotation", "s1a-ew-grd-hh");
         std::string text = read_file(f);
         const auto at = text.find("<geolocationGrid>");
         text.replace(at, 17, "<geolocationGrit>");
         text.replace(text.find("</geolocationGrid>"), 18, "</geolocationGrit>");
         write_file_atomically(f, text);
         return safe;
       },
       {"s1a-ew-grd-hh", "/product/geolocationGrid", "missing"}},
      {"missing noise",
       [&](const fs::path& d) {
         const auto safe = product(d);
         fs::remove(file_of(safe, "annotation/calibration", "noise-s1a-ew-grd-hh"));
         return safe;
       },
       {"noise-s1a-ew-grd-hh", "missing"}},
      {"short calibration grid",
       [&](const fs::path& d) {
         const auto safe = product(d);
         const auto f = file_of(safe, "annotation/calibration", "calibration-s1a-ew-grd-hh");
         std::string text = read_file(f);
         const auto last = text.rfind("<calibrationVector>");
         text.erase(last, text.find("</calibrationVectorList>") - last);
         write_file_atomically(f, text);
         return safe;
       },
       {"calibration-s1a-ew-grd-hh", "/calibration/calibrationVectorList", "lines 0..299"}},
      {"no measurement",
       [&](const fs::path& d) {
         const auto safe = product(d);
         fs::remove_all(safe / "measurement");
         return safe;
       },
       {"measurement", "missing"}},
      {"junk zip",
       [&](const fs::path& d) {
         write_file_atomically(d / "junk.zip", "PK but not really");
         return d / "junk.zip";
       },
       {"junk.zip", "zip"}},
      {"zip without product",
       [&](const fs::path& d) {
         const auto files = synth::write_s1_product(small_ew(), d, true);
         const auto renamed = d / "renamed.zip";
         // A zip of the measurement file alone.
         void* zip = CPLCreateZip(renamed.c_str(), nullptr);
         CPLCreateFileInZip(zip, "data.txt", nullptr);
         CPLWriteFileInZip(zip, "x", 1);
         CPLCloseFileInZip(zip);
         CPLCloseZip(zip);
         (void)files;
         return renamed;
       },
       {"renamed.zip", "not a Sentinel-1 product"}},
  };
  for (const auto& c : cases) {
    const fs::path case_dir = dir / ("case_" + std::to_string(&c - cases.data()));
    fs::create_directories(case_dir / "out");
    const fs::path path = c.make(case_dir);
    for (const char* out : {"scene.tif", "scene.nc"}) {
      const auto r =
          testing::run_sarseg("s1 import " + q(path) + " --out " + q(case_dir / "out" / out));
      EXPECT_EQ(r.exit_code, 2) << c.name << ": " << r.output;
      EXPECT_TRUE(is_one_error_line(r.output)) << c.name << ": " << r.output;
      for (const auto& part : c.expected)
        EXPECT_NE(r.output.find(part), std::string::npos) << c.name << ": " << part << "\n"
                                                          << r.output;
      EXPECT_TRUE(fs::is_empty(case_dir / "out")) << c.name;  // no partial output
    }
  }
  const auto bad_out =
      testing::run_sarseg("s1 import " + q(dir / "x.SAFE") + " --out " + q(dir / "s.png"));
  EXPECT_EQ(bad_out.exit_code, 2);
  EXPECT_NE(bad_out.output.find("s.png"), std::string::npos) << bad_out.output;
}

TEST(CliS1Import, HelpShowsTheTypedDefaults) {
  const auto r = testing::run_sarseg("s1 import --help");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const s1::ImportOptions defaults;
  auto number = [](double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  for (const std::string& expected :
       {"--pixel-spacing FLOAT:POSITIVE=" + number(defaults.pixel_spacing_m),
        "--db-floor FLOAT=" + number(defaults.db_floor), "=" + number(defaults.min_valid_fraction),
        "--jobs INT:NONNEGATIVE=" + std::to_string(defaults.threads),
        "]=" + std::to_string(defaults.strip_lines),
        "}=" + s1::to_string(defaults.calibration.target)})
    EXPECT_NE(r.output.find(expected), std::string::npos) << expected << "\n" << r.output;
}

}  // namespace
}  // namespace sarseg::io
