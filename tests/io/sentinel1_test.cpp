// Sentinel-1 GRD import: calibration and noise against the real annotation's numbers, incidence
// at the tie points, EW-like products (five sub-swaths, HH/HV, SAFE and zip), old IPF noise, the
// warp to a map CRS and damaged products.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "s1_test_util.h"
#include "sarseg/io/sentinel1.h"
#include "sarseg/synth/s1_product.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "support/test_support.h"

namespace sarseg::io {
namespace {

namespace fs = std::filesystem;
using test::XmlVector;

// The test's own linear interpolation (for azimuth noise lines between nodes).
double linear_at(const std::vector<double>& x, const std::vector<double>& y, double at) {
  if (at <= x.front()) return y.front();
  for (size_t j = 1; j < x.size(); ++j)
    if (at <= x[j]) return y[j - 1] + (y[j] - y[j - 1]) * (at - x[j - 1]) / (x[j] - x[j - 1]);
  return y.back();
}

struct AzimuthBlock {
  int64_t first_sample, last_sample;
  std::vector<double> lines, values;
};

std::vector<AzimuthBlock> fixture_azimuth_blocks() {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_file(test::fixture_noise_file().c_str()));
  std::vector<AzimuthBlock> blocks;
  for (const auto v :
       doc.document_element().child("noiseAzimuthVectorList").children("noiseAzimuthVector")) {
    blocks.push_back({std::stoll(v.child_value("firstRangeSample")),
                      std::stoll(v.child_value("lastRangeSample")),
                      test::xml_numbers(v.child("line")),
                      test::xml_numbers(v.child("noiseAzimuthLut"))});
  }
  return blocks;
}

// Noise at a pixel that is a node of the range vector on `line` (the vector's own value) times the
// azimuth LUT of the block holding it.
double fixture_noise_at_node(const XmlVector& range, size_t node, int64_t line,
                             const std::vector<AzimuthBlock>& blocks) {
  const double pixel = range.pixels[node];
  for (const auto& b : blocks)
    if (pixel >= b.first_sample && pixel <= b.last_sample)
      return range.values[node] * linear_at(b.lines, b.values, static_cast<double>(line));
  ADD_FAILURE() << "pixel " << pixel << " outside every azimuth block";
  return 0;
}

class FixtureProduct : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    // Lines 0..1407, pixels 0..1023 and, across the IW1/IW2 boundary, pixels 8704..9215.
    safe_ = test::make_fixture_product(dir_->path(), {{0, 0, 1408, 1024}, {0, 8704, 1408, 512}});
    product_ = new s1::Product(s1::open_product(safe_));
  }
  static void TearDownTestSuite() {
    delete product_;
    delete dir_;
  }
  static testing::TempDir* dir_;
  static fs::path safe_;
  static s1::Product* product_;
};
testing::TempDir* FixtureProduct::dir_ = nullptr;
fs::path FixtureProduct::safe_;
s1::Product* FixtureProduct::product_ = nullptr;

TEST_F(FixtureProduct, ReadsTheRealAnnotation) {
  const auto& p = *product_;
  EXPECT_EQ(p.manifest.ipf_version, "003.40");
  EXPECT_EQ(p.manifest.mode, "IW");
  ASSERT_EQ(p.polarisations.size(), 1u);  // the manifest lists VH too, but its files are absent
  EXPECT_EQ(p.polarisations[0].files.polarisation, "VV");
  EXPECT_EQ(p.lines, test::kFixtureLines);
  EXPECT_EQ(p.samples, test::kFixtureSamples);
  EXPECT_EQ(p.polarisations[0].calibration.sigma0.size(), 27u);
  EXPECT_EQ(p.polarisations[0].noise.range.size(), 27u);
  EXPECT_EQ(p.polarisations[0].noise.azimuth.size(), 3u);
  EXPECT_EQ(p.polarisations[0].annotation.geolocation.size(), 210u);
  EXPECT_TRUE(p.has_azimuth_noise());
}

TEST_F(FixtureProduct, Sigma0AtCalibrationNodesIsDnSquaredMinusNoiseOverASquared) {
  const auto sigma =
      test::fixture_vectors(test::fixture_calibration_file(), "calibrationVectorList",
                            "calibrationVector", "sigmaNought");
  const auto range = test::fixture_vectors(test::fixture_noise_file(), "noiseRangeVectorList",
                                           "noiseRangeVector", "noiseRangeLut");
  const auto blocks = fixture_azimuth_blocks();
  const s1::Window window{0, 0, 1408, 1024};
  const FloatRaster linear = s1::read_calibrated_window(*product_, 0, window);
  int checked = 0;
  // Calibration vectors 0..2 (lines 0, 668, 1336) lie on the lines of noise vectors 0..2.
  for (size_t v = 0; v < 3; ++v) {
    ASSERT_EQ(sigma[v].line, range[v].line);
    const int64_t line = sigma[v].line;
    for (size_t j = 0; j < sigma[v].pixels.size(); ++j) {
      const double pixel = sigma[v].pixels[j];
      if (pixel >= 1024) break;
      ASSERT_EQ(range[v].pixels[j], pixel);  // the grids agree up to pixel 8880
      const double dn = test::fixture_dn(line, static_cast<int64_t>(pixel));
      const double a = sigma[v].values[j];
      const double noise = fixture_noise_at_node(range[v], j, line, blocks);
      const double expected = (dn * dn - noise) / (a * a);
      const double got = linear.at(line, static_cast<int64_t>(pixel));
      EXPECT_NEAR(got, expected, 2e-5 * dn * dn / (a * a)) << "line " << line << " pixel " << pixel;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3 * 26);
}

TEST_F(FixtureProduct, NoiseFollowsTheAzimuthBlockAcrossTheSubSwathBoundary) {
  // IW1 ends at pixel 8889, IW2 starts at 8890; both are nodes of the range vectors.
  const auto range = test::fixture_vectors(test::fixture_noise_file(), "noiseRangeVectorList",
                                           "noiseRangeVector", "noiseRangeLut");
  const auto blocks = fixture_azimuth_blocks();
  const s1::Calibrator calibrator(*product_, 0, {});
  for (size_t v = 0; v < 3; ++v) {
    for (size_t j = 0; j < range[v].pixels.size(); ++j) {
      const double pixel = range[v].pixels[j];
      if (pixel < 8800 || pixel > 9100) continue;
      const double expected = fixture_noise_at_node(range[v], j, range[v].line, blocks);
      EXPECT_NEAR(calibrator.noise_at(static_cast<double>(range[v].line), pixel), expected,
                  1e-9 * expected)
          << "line " << range[v].line << " pixel " << pixel;
    }
  }
  // A window across the boundary: the same numbers as the point model.
  const s1::Window window{600, 8704, 100, 512};
  const FloatRaster linear = s1::read_calibrated_window(*product_, 0, window);
  for (int64_t pixel : {8880, 8889, 8890, 8900}) {
    const int64_t line = 668;
    const double dn = test::fixture_dn(line, pixel);
    const double a = calibrator.amplitude_at(line, static_cast<double>(pixel));
    const double expected =
        (dn * dn - calibrator.noise_at(line, static_cast<double>(pixel))) / (a * a);
    EXPECT_NEAR(linear.at(line - window.line0, pixel - window.pixel0), expected,
                2e-5 * dn * dn / (a * a));
  }
}

TEST_F(FixtureProduct, BetweenNodesTheCalibrationIsBilinear) {
  const auto sigma =
      test::fixture_vectors(test::fixture_calibration_file(), "calibrationVectorList",
                            "calibrationVector", "sigmaNought");
  s1::CalibrationOptions no_noise;
  no_noise.remove_noise = false;
  const FloatRaster linear = s1::read_calibrated_window(*product_, 0, {0, 0, 1408, 1024}, no_noise);
  // Points inside cells (v, v+1) x (j, j+1) of the calibration grid.
  for (const auto& [v, j, tl, tp] : std::vector<std::tuple<size_t, size_t, double, double>>{
           {0, 0, 0.5, 0.5}, {0, 7, 0.25, 0.75}, {1, 12, 0.9, 0.1}, {1, 24, 0.3, 0.6}}) {
    const double l0 = static_cast<double>(sigma[v].line),
                 l1 = static_cast<double>(sigma[v + 1].line);
    const double p0 = sigma[v].pixels[j], p1 = sigma[v].pixels[j + 1];
    const int64_t line = static_cast<int64_t>(std::llround(l0 + (l1 - l0) * tl));
    const int64_t pixel = static_cast<int64_t>(std::llround(p0 + (p1 - p0) * tp));
    const double u = (static_cast<double>(line) - l0) / (l1 - l0);
    const double w = (static_cast<double>(pixel) - p0) / (p1 - p0);
    const double top = sigma[v].values[j] * (1 - w) + sigma[v].values[j + 1] * w;
    const double bottom = sigma[v + 1].values[j] * (1 - w) + sigma[v + 1].values[j + 1] * w;
    const double a = top * (1 - u) + bottom * u;
    const double dn = test::fixture_dn(line, pixel);
    EXPECT_NEAR(linear.at(line, pixel), dn * dn / (a * a), 2e-5 * dn * dn / (a * a))
        << "line " << line << " pixel " << pixel;
  }
}

TEST_F(FixtureProduct, WithNoiseRemovalOffTheNoiseTermIsAbsent) {
  const auto sigma =
      test::fixture_vectors(test::fixture_calibration_file(), "calibrationVectorList",
                            "calibrationVector", "sigmaNought");
  s1::CalibrationOptions off;
  off.remove_noise = false;
  const s1::Window window{0, 0, 1408, 1024};
  const FloatRaster with = s1::read_calibrated_window(*product_, 0, window);
  const FloatRaster without = s1::read_calibrated_window(*product_, 0, window, off);
  const s1::Calibrator calibrator(*product_, 0, {});
  for (size_t v = 0; v < 3; ++v) {
    for (size_t j = 0; j < 26; ++j) {
      const int64_t line = sigma[v].line;
      const int64_t pixel = static_cast<int64_t>(sigma[v].pixels[j]);
      const double a = sigma[v].values[j];
      const double dn = test::fixture_dn(line, pixel);
      EXPECT_NEAR(without.at(line, pixel), dn * dn / (a * a), 2e-5 * dn * dn / (a * a));
      const double noise_term = calibrator.noise_at(line, static_cast<double>(pixel)) / (a * a);
      EXPECT_GT(noise_term, 0);
      EXPECT_NEAR(without.at(line, pixel) - with.at(line, pixel), noise_term,
                  4e-5 * dn * dn / (a * a));
    }
  }
}

TEST_F(FixtureProduct, BetaAndGammaUseTheirOwnVectors) {
  for (const auto& [target, name] : std::vector<std::pair<s1::CalibrationTarget, const char*>>{
           {s1::CalibrationTarget::kBeta0, "betaNought"},
           {s1::CalibrationTarget::kGamma0, "gamma"}}) {
    const auto vectors = test::fixture_vectors(test::fixture_calibration_file(),
                                               "calibrationVectorList", "calibrationVector", name);
    s1::CalibrationOptions options;
    options.target = target;
    options.remove_noise = false;
    const FloatRaster linear = s1::read_calibrated_window(*product_, 0, {0, 0, 700, 1024}, options);
    for (size_t j = 0; j < 26; j += 5) {
      const int64_t pixel = static_cast<int64_t>(vectors[1].pixels[j]);
      const double a = vectors[1].values[j];
      const double dn = test::fixture_dn(vectors[1].line, pixel);
      EXPECT_NEAR(linear.at(vectors[1].line, pixel), dn * dn / (a * a), 2e-5 * dn * dn / (a * a))
          << name;
    }
  }
}

TEST_F(FixtureProduct, NoDataPixelsAreNaN) {
  const FloatRaster linear = s1::read_calibrated_window(*product_, 0, {2000, 0, 10, 10});
  for (float v : linear.data)
    EXPECT_TRUE(std::isnan(v));  // tiles never written hold DN 0
}

TEST_F(FixtureProduct, IncidenceEqualsTheAnnotationAtGeolocationGridPoints) {
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file(test::fixture_annotation_file().c_str()));
  const s1::GeolocationGrid grid(product_->polarisations[0].annotation.geolocation, "annotation");
  int points = 0;
  for (const auto point : doc.document_element()
                              .child("geolocationGrid")
                              .child("geolocationGridPointList")
                              .children("geolocationGridPoint")) {
    const double line = std::stod(point.child_value("line"));
    const double pixel = std::stod(point.child_value("pixel"));
    EXPECT_NEAR(grid.incidence_deg(line, pixel), std::stod(point.child_value("incidenceAngle")),
                1e-9);
    EXPECT_NEAR(grid.latitude(line, pixel), std::stod(point.child_value("latitude")), 1e-9);
    EXPECT_NEAR(grid.longitude(line, pixel), std::stod(point.child_value("longitude")), 1e-9);
    ++points;
  }
  EXPECT_EQ(points, 210);
  // Between points the incidence lies between its neighbours (monotonic in range).
  EXPECT_GT(grid.incidence_deg(100, 700), grid.incidence_deg(100, 0));
}

TEST_F(FixtureProduct, WindowsOutsideTheImageAreRefused) {
  EXPECT_THROW(s1::read_calibrated_window(*product_, 0, {16700, 0, 10, 10}), UserError);
  EXPECT_THROW(s1::read_calibrated_window(*product_, 1, {0, 0, 10, 10}), UserError);
}

// ---- EW-like products -----------------------------------------------------------------------

synth::S1ProductSpec small_ew() {
  synth::S1ProductSpec spec;
  spec.lines = 400;
  spec.samples = 1200;
  spec.compress = true;
  return spec;
}

double mean_linear(const Scene& scene, const std::string& band) {
  const auto& pixels = scene.band(band).pixels;
  double sum = 0;
  int64_t n = 0;
  for (size_t i = 0; i < pixels.data.size(); ++i) {
    if (!scene.valid.data[i]) continue;
    sum += std::pow(10.0, pixels.data[i] / 10.0);
    ++n;
  }
  return sum / static_cast<double>(std::max<int64_t>(n, 1));
}

TEST(S1EwProduct, FiveSubSwathsHhHvImportTo80m) {
  testing::TempDir dir;
  const auto spec = small_ew();
  const auto files = synth::write_s1_product(spec, dir.path());
  const s1::Product product = s1::open_product(files.safe);
  ASSERT_EQ(product.polarisations.size(), 2u);
  EXPECT_EQ(product.polarisations[0].files.polarisation, "HH");
  EXPECT_EQ(product.polarisations[1].files.polarisation, "HV");
  EXPECT_EQ(product.polarisations[0].noise.azimuth.size(), 5u);
  EXPECT_EQ(product.polarisations[0].noise.azimuth[4].swath, "EW5");

  const Scene scene = s1::import_product(product);
  EXPECT_EQ(scene.height, 200);  // 40 m -> 80 m: 2 x 2 looks
  EXPECT_EQ(scene.width, 600);
  EXPECT_EQ(scene.band_names(), (std::vector<std::string>{"hh_db", "hv_db", "incidence_deg"}));
  EXPECT_EQ(scene.band("hh_db").units, "dB");
  EXPECT_EQ(scene.acquisition_time, "2020-11-01T21:45:50Z");
  EXPECT_EQ(scene.season, Season::kFreezeUp);
  EXPECT_EQ(scene.latitude_grid.height, 10);
  EXPECT_EQ(scene.latitude_grid.width, 21);
  EXPECT_EQ(scene.attributes.at("s1_noise_removal"), "range and azimuth vectors");
  // The 16 no-data columns at each side are 8 output columns, masked.
  for (int64_t r = 0; r < scene.height; r += 37) {
    EXPECT_FALSE(scene.is_valid(r, 0));
    EXPECT_FALSE(scene.is_valid(r, 7));
    EXPECT_TRUE(scene.is_valid(r, 8));
    EXPECT_TRUE(scene.is_valid(r, 591));
    EXPECT_FALSE(scene.is_valid(r, 592));
  }
  for (float v : scene.band("hh_db").pixels.data)
    ASSERT_TRUE(std::isfinite(v));
  // Incidence at an output pixel: the tie-point grid at the block centre.
  const s1::GeolocationGrid grid(product.polarisations[0].annotation.geolocation, "a");
  EXPECT_NEAR(scene.band("incidence_deg").pixels.at(50, 300), grid.incidence_deg(100.5, 600.5),
              1e-4);
  EXPECT_NEAR(scene.band("incidence_deg").pixels.at(0, 0), spec.incidence_near_deg, 0.05);

  // Noise removal brings HV/HH back to the simulated ratio (same texture in both); without it the
  // noise floor lifts HV.
  const double ratio = mean_linear(scene, "hv_db") / mean_linear(scene, "hh_db");
  EXPECT_NEAR(ratio, spec.cross_sigma0 / spec.co_sigma0, 0.01);
  s1::ImportOptions off;
  off.calibration.remove_noise = false;
  const Scene noisy = s1::import_product(product, off);
  EXPECT_GT(mean_linear(noisy, "hv_db") / mean_linear(noisy, "hh_db"), ratio * 1.3);
  EXPECT_EQ(noisy.attributes.at("s1_noise_removal"), "off");
}

TEST(S1EwProduct, OutputPixelsAreTheMeanOfTheirBlockWhateverTheStrips) {
  testing::TempDir dir;
  const auto files = synth::write_s1_product(small_ew(), dir.path());
  const s1::Product product = s1::open_product(files.safe);
  s1::ImportOptions one;
  one.threads = 1;
  one.db_floor = -80;
  s1::ImportOptions many = one;
  many.threads = 2;
  many.strip_lines = 6;  // 3 output rows per strip
  const Scene a = s1::import_product(product, one);
  const Scene b = s1::import_product(product, many);
  EXPECT_EQ(a.band("hv_db").pixels.data, b.band("hv_db").pixels.data);
  EXPECT_EQ(a.valid.data, b.valid.data);
  const FloatRaster full = s1::read_calibrated_window(product, 1, {0, 0, 400, 1200});
  for (const auto& [r, c] :
       std::vector<std::pair<int64_t, int64_t>>{{0, 8}, {17, 300}, {199, 591}}) {
    double sum = 0;
    for (int64_t l = 2 * r; l < 2 * r + 2; ++l)
      for (int64_t p = 2 * c; p < 2 * c + 2; ++p)
        sum += full.at(l, p);
    const double mean = sum / 4;
    EXPECT_NEAR(a.band("hv_db").pixels.at(r, c), 10 * std::log10(std::max(mean, 1e-8)), 1e-3);
  }
}

TEST(S1EwProduct, TheZipImportsLikeTheSafeFolder) {
  testing::TempDir dir;
  const auto files = synth::write_s1_product(small_ew(), dir.path(), /*zip=*/true);
  ASSERT_TRUE(fs::exists(files.zip));
  fs::remove_all(files.safe);  // the zip alone
  EXPECT_TRUE(s1::is_product_path(files.zip));
  const Scene zipped = s1::import_product(files.zip);
  const auto again = synth::write_s1_product(small_ew(), dir / "again");
  const Scene folder = s1::import_product(again.safe);
  EXPECT_EQ(zipped.band("hh_db").pixels.data, folder.band("hh_db").pixels.data);
  EXPECT_EQ(zipped.id, folder.id);
}

TEST(S1EwProduct, BeforeIpf29TheRangeNoiseAloneIsRemoved) {
  testing::TempDir dir;
  auto spec = small_ew();
  spec.ipf_version = "002.72";
  const auto files = synth::write_s1_product(spec, dir.path());
  const s1::Product product = s1::open_product(files.safe);
  EXPECT_FALSE(product.has_azimuth_noise());
  EXPECT_EQ(product.polarisations[0].noise.range_element, "/noise/noiseVectorList");
  const Scene scene = s1::import_product(product);
  EXPECT_EQ(scene.attributes.at("s1_noise_removal"), "range vectors");
  EXPECT_NEAR(mean_linear(scene, "hv_db") / mean_linear(scene, "hh_db"),
              spec.cross_sigma0 / spec.co_sigma0, 0.01);
}

TEST(S1EwProduct, WarpsToPolarStereographic) {
  testing::TempDir dir;
  const auto files = synth::write_s1_product(small_ew(), dir.path());
  s1::ImportOptions options;
  options.crs = "EPSG:3413";
  const Scene scene = s1::import_product(files.safe, options);
  ASSERT_TRUE(scene.geo.has_value());
  EXPECT_NE(scene.geo->crs_wkt.find("Polar Stereographic"), std::string::npos);
  EXPECT_NEAR(scene.geo->transform[1], 80.0, 1e-9);
  EXPECT_NEAR(scene.geo->transform[5], -80.0, 1e-9);
  EXPECT_TRUE(scene.latitude_grid.empty());
  int64_t valid = 0;
  for (auto v : scene.valid.data)
    valid += v;
  // The swath covers the same ground in the map: 200 x 584 valid 80 m pixels (+-5 %).
  EXPECT_NEAR(static_cast<double>(valid), 200.0 * 584.0, 0.05 * 200.0 * 584.0);
  EXPECT_LT(valid, scene.height * scene.width);  // rotated in the map: corners without data
  for (size_t i = 0; i < scene.valid.data.size(); ++i) {
    if (!scene.valid.data[i]) continue;
    ASSERT_GT(scene.band("incidence_deg").pixels.data[i], 18.9f);
    ASSERT_LT(scene.band("incidence_deg").pixels.data[i], 47.1f);
  }
  EXPECT_THROW(
      [&] {
        s1::ImportOptions bad;
        bad.crs = "EPSG:999999";
        s1::import_product(files.safe, bad);
      }(),
      UserError);
}

// ---- damaged products -----------------------------------------------------------------------

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

void expect_mentions(const std::string& message, const std::vector<std::string>& parts) {
  for (const auto& part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
}

TEST(S1Errors, DamagedXmlNamesTheFileAndElement) {
  testing::TempDir dir;
  const auto files = synth::write_s1_product(small_ew(), dir.path());
  const fs::path annotation = *fs::directory_iterator(files.safe / "annotation" / "calibration");
  (void)annotation;
  fs::path calibration, noise, product_xml;
  for (const auto& e : fs::directory_iterator(files.safe / "annotation" / "calibration")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("calibration-s1a-ew-grd-hh", 0) == 0) calibration = e.path();
    if (name.rfind("noise-s1a-ew-grd-hv", 0) == 0) noise = e.path();
  }
  for (const auto& e : fs::directory_iterator(files.safe / "annotation"))
    if (e.path().filename().string().rfind("s1a-ew-grd-hh", 0) == 0) product_xml = e.path();
  const std::string original = read_file(calibration);

  write_file_atomically(calibration, original.substr(0, original.size() / 2));
  expect_mentions(error_of([&] { s1::open_product(files.safe); }),
                  {calibration.filename().string(), "malformed XML"});

  std::string no_sigma = original;
  no_sigma.replace(no_sigma.find("<sigmaNought"), 12, "<sigmaNaught");
  no_sigma.replace(no_sigma.find("</sigmaNought>"), 14, "</sigmaNaught>");
  write_file_atomically(calibration, no_sigma);
  expect_mentions(error_of([&] { s1::open_product(files.safe); }),
                  {calibration.filename().string(), "calibrationVector/sigmaNought", "missing"});

  std::string bad_number = original;
  bad_number.replace(bad_number.find("<line>") + 6, 1, "x");
  write_file_atomically(calibration, bad_number);
  expect_mentions(error_of([&] { s1::open_product(files.safe); }),
                  {calibration.filename().string(), "calibrationVector/line", "not a number"});
  write_file_atomically(calibration, original);

  const std::string annotation_text = read_file(product_xml);
  std::string no_lines = annotation_text;
  no_lines.replace(no_lines.find("<numberOfLines>"), 15, "<numberOfLinez>");
  no_lines.replace(no_lines.find("</numberOfLines>"), 16, "</numberOfLinez>");
  write_file_atomically(product_xml, no_lines);
  expect_mentions(error_of([&] { s1::open_product(files.safe); }),
                  {product_xml.filename().string(), "imageInformation/numberOfLines"});
  write_file_atomically(product_xml, annotation_text);

  fs::remove(noise);
  expect_mentions(error_of([&] { s1::open_product(files.safe); }),
                  {noise.filename().string(), "missing"});
}

TEST(S1Errors, ACalibrationGridThatDoesNotCoverTheImageIsRefused) {
  testing::TempDir dir;
  // The real calibration without its last two vectors (lines 16705 and 17373): it ends at 16037.
  const fs::path safe = test::make_fixture_product(dir.path(), {});
  const fs::path calibration = safe / "annotation" / "calibration" /
                               (std::string("calibration-") + test::kFixtureStem + ".xml");
  std::string text = read_file(calibration);
  const auto cut = text.find("<line>16705</line>");
  ASSERT_NE(cut, std::string::npos);
  const auto start = text.rfind("<calibrationVector>", cut);
  const auto end = text.find("</calibrationVectorList>");
  text.erase(start, end - start);
  fs::remove(calibration);
  write_file_atomically(calibration, text);
  expect_mentions(error_of([&] { s1::open_product(safe); }),
                  {calibration.filename().string(), "calibrationVectorList", "16037", "16704"});

  // Pixels short of the image width.
  const auto files = synth::write_s1_product(small_ew(), dir / "ew");
  for (const auto& e : fs::directory_iterator(files.safe / "annotation" / "calibration")) {
    if (e.path().filename().string().rfind("calibration-", 0) != 0) continue;
    std::string xml = read_file(e.path());
    std::string from = " 1199</pixel>";
    for (size_t at = xml.find(from); at != std::string::npos; at = xml.find(from))
      xml.replace(at, from.size(), " 1180</pixel>");
    write_file_atomically(e.path(), xml);
    expect_mentions(error_of([&] { s1::open_product(files.safe); }),
                    {e.path().filename().string(), "calibrationVectorList", "1180", "1199"});
    break;
  }
}

TEST(S1Errors, AProductWithoutMeasurementFilesIsRefused) {
  testing::TempDir dir;
  const auto files = synth::write_s1_product(small_ew(), dir.path());
  fs::remove_all(files.safe / "measurement");
  expect_mentions(error_of([&] { s1::open_product(files.safe); }),
                  {"measurement", "missing", files.name});
  // Every file of every polarisation gone: nothing left to import.
  fs::remove_all(files.safe / "annotation");
  expect_mentions(error_of([&] { s1::open_product(files.safe); }),
                  {"manifest.safe", "dataObjectSection", "no measurement files"});
}

TEST(S1Errors, AZipThatIsNotAProductIsRefused) {
  testing::TempDir dir;
  write_file_atomically(dir / "junk.zip", "this is not a zip");
  expect_mentions(error_of([&] { s1::open_product(dir / "junk.zip"); }), {"junk.zip", "zip"});
  void* zip = CPLCreateZip((dir / "other.zip").c_str(), nullptr);
  ASSERT_NE(zip, nullptr);
  CPLCreateFileInZip(zip, "readme.txt", nullptr);
  CPLWriteFileInZip(zip, "hello", 5);
  CPLCloseFileInZip(zip);
  CPLCloseZip(zip);
  expect_mentions(error_of([&] { s1::open_product(dir / "other.zip"); }),
                  {"other.zip", "not a Sentinel-1 product", "manifest.safe"});
  expect_mentions(error_of([&] { s1::open_product(dir / "absent.SAFE"); }),
                  {"absent.SAFE", "does not exist"});
  fs::create_directories(dir / "empty.SAFE");
  expect_mentions(error_of([&] { s1::open_product(dir / "empty.SAFE"); }),
                  {"manifest.safe", "missing"});
  fs::create_directories(dir / "bad.SAFE");
  write_file_atomically(dir / "bad.SAFE" / "manifest.safe", "<notxfdu/>");
  expect_mentions(error_of([&] { s1::open_product(dir / "bad.SAFE"); }),
                  {"manifest.safe", "not a SAFE manifest"});
}

TEST(S1Parsers, TakeInMemoryBuffers) {
  const std::string xml =
      "<calibration><calibrationVectorList count=\"2\">"
      "<calibrationVector><line>0</line><pixel count=\"2\">0 9</pixel>"
      "<sigmaNought count=\"2\">2 4</sigmaNought><betaNought>1 1</betaNought>"
      "<gamma>3 3</gamma><dn>1 1</dn></calibrationVector>"
      "<calibrationVector><line>9</line><pixel>0 9</pixel>"
      "<sigmaNought>6 8</sigmaNought><betaNought>1 1</betaNought>"
      "<gamma>3 3</gamma><dn>1 1</dn></calibrationVector>"
      "</calibrationVectorList></calibration>";
  const auto calibration = s1::parse_calibration(xml, "buffer");
  ASSERT_EQ(calibration.sigma0.size(), 2u);
  const s1::LineLut lut(calibration.sigma0, "buffer", "/calibration/calibrationVectorList");
  EXPECT_DOUBLE_EQ(lut.at(0, 0), 2);
  EXPECT_DOUBLE_EQ(lut.at(4.5, 4.5), 5);  // (2 + 4 + 6 + 8) / 4
  lut.require_covers(10, 10);
  EXPECT_THROW(lut.require_covers(11, 10), UserError);
  std::vector<float> row(10 * 10);
  lut.fill(0, 10, 0, 10, row.data());
  EXPECT_FLOAT_EQ(row[9 * 10 + 9], 8);
  EXPECT_FLOAT_EQ(row[5 * 10 + 0], 2 + 4 * 5.0f / 9);

  EXPECT_THROW(s1::parse_calibration(std::string_view(xml).substr(0, 100), "buffer"), UserError);
  std::string mismatch = xml;
  const std::string pixels = "<pixel count=\"2\">0 9</pixel>";
  mismatch.replace(mismatch.find(pixels), pixels.size(), "<pixel count=\"3\">0 9</pixel>");
  expect_mentions(error_of([&] { s1::parse_calibration(mismatch, "buffer"); }),
                  {"buffer", "pixel", "count"});
  EXPECT_THROW(s1::parse_noise("<noise/>", "noise.xml"), UserError);
  EXPECT_THROW(s1::parse_annotation("<product/>", "a.xml"), UserError);
  EXPECT_THROW(s1::parse_manifest("", "m.safe"), UserError);
}

}  // namespace
}  // namespace sarseg::io
