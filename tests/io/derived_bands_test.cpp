// Bands derived from the 2 km grids, the acquisition time and the lat/lon subgrid
// (io/derived_bands.h): the cell-centre alignment on a known gradient, the normalisation, the
// month and position encodings, and the reading hook.
#include "sarseg/io/derived_bands.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include "sarseg/io/netcdf.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/util/error.h"
#include "support/test_support.h"

namespace sarseg::io {
namespace {

// A linear function of the SAR coordinate (pixel centres at integers).
struct Gradient {
  double offset = 1.5, per_row = 0.013, per_col = -0.021;
  double at(double row, double col) const { return offset + per_row * row + per_col * col; }
};

// A 2 km grid whose cell (i, j) holds the gradient at its centre, cell k covering SAR pixels
// [k f, (k + 1) f) and so centred at (k + 0.5) f - 0.5, written out here rather than through
// aux_cell_centre so that the test does not share the code it checks.
FloatRaster gradient_grid(const Gradient& g, int64_t rows, int64_t cols, double row_f,
                          double col_f) {
  FloatRaster grid(rows, cols);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      grid.at(i, j) =
          static_cast<float>(g.at(i * row_f + (row_f - 1) / 2, j * col_f + (col_f - 1) / 2));
  return grid;
}

// Largest |band - gradient| over the SAR pixels between the outermost cell centres (the interior,
// where the interpolation is not clamped).
double interior_error(const FloatRaster& band, const Gradient& g, int64_t rows, int64_t cols,
                      double row_f, double col_f) {
  double worst = 0.0;
  for (int64_t r = 0; r < band.height; ++r) {
    if (r < (row_f - 1) / 2 || r > (rows - 1) * row_f + (row_f - 1) / 2) continue;
    for (int64_t c = 0; c < band.width; ++c) {
      if (c < (col_f - 1) / 2 || c > (cols - 1) * col_f + (col_f - 1) / 2) continue;
      worst = std::max(
          worst, std::abs(band.at(r, c) - g.at(static_cast<double>(r), static_cast<double>(c))));
    }
  }
  return worst;
}

// float precision for values of order 1..5
constexpr double kFloatTolerance = 4e-6;
constexpr double kPi = 3.14159265358979323846;

Scene scene_with_grid(int64_t height, int64_t width, FloatRaster grid,
                      const std::string& units = "zscore") {
  Scene scene;
  scene.id = "20210315T101010_test";
  scene.height = height;
  scene.width = width;
  scene.pixel_spacing_m = 80;
  scene.bands.push_back({"hh_db", "dB", FloatRaster(height, width, -15.0f)});
  scene.bands.push_back({"hv_db", "dB", FloatRaster(height, width, -25.0f)});
  scene.aux.push_back({"btemp_18_7h", std::move(grid), units});
  return scene;
}

TEST(DerivedBandsGeometry, TheCellSideComesFromTheSpacingOrFromTheTwoGridSizes) {
  EXPECT_DOUBLE_EQ(nominal_aux_cell_pixels(80.0), 25.0);
  EXPECT_DOUBLE_EQ(aux_cell_pixels_along(5000, 200, 80.0), 25.0);      // exact
  EXPECT_DOUBLE_EQ(aux_cell_pixels_along(90, 4, 80.0), 25.0);          // ragged last cell
  EXPECT_DOUBLE_EQ(aux_cell_pixels_along(64, 3, 80.0), 25.0);          // sarseg synth --size 64x64
  EXPECT_DOUBLE_EQ(aux_cell_pixels_along(100, 3, 80.0), 100.0 / 3.0);  // not ceil(100/25)
  EXPECT_DOUBLE_EQ(aux_cell_pixels_along(96, 2, 80.0), 48.0);
  EXPECT_DOUBLE_EQ(aux_cell_centre(0, 25), 12.0);
  EXPECT_DOUBLE_EQ(aux_cell_centre(3, 25), 87.0);
}

TEST(DerivedBandsGeometry, AKnownGradientIsReproducedAtEveryInteriorPixelCentre) {
  // 90 x 110 SAR pixels at 80 m: 4 x 5 cells of 25 pixels, the last row and column ragged.
  const Gradient g;
  Scene scene = scene_with_grid(90, 110, gradient_grid(g, 4, 5, 25, 25));
  EXPECT_EQ(add_derived_bands(scene, {"hh_db", "btemp_18_7h"}),
            std::vector<std::string>{"btemp_18_7h"});
  const Band& band = scene.band("btemp_18_7h");
  EXPECT_EQ(band.units, "zscore");
  ASSERT_EQ(band.pixels.height, 90);
  ASSERT_EQ(band.pixels.width, 110);
  EXPECT_LT(interior_error(band.pixels, g, 4, 5, 25, 25), kFloatTolerance);
  // Exactly at a cell centre, the cell's own value; clamped (constant) outside the centres.
  EXPECT_FLOAT_EQ(band.pixels.at(12, 37), static_cast<float>(g.at(12, 37)));
  EXPECT_FLOAT_EQ(band.pixels.at(0, 0), band.pixels.at(12, 12));
  EXPECT_FLOAT_EQ(band.pixels.at(89, 109), band.pixels.at(87, 109));
}

TEST(DerivedBandsGeometry, ANonIntegerRatioIsAlignedToo) {
  // 100 x 70 pixels with 3 x 4 cells: not the nominal 25-pixel cells, so 33.3 x 17.5 pixels each.
  const Gradient g;
  const double row_f = 100.0 / 3.0, col_f = 70.0 / 4.0;
  Scene scene = scene_with_grid(100, 70, gradient_grid(g, 3, 4, row_f, col_f));
  add_derived_bands(scene, {"btemp_18_7h"});
  EXPECT_LT(interior_error(scene.band("btemp_18_7h").pixels, g, 3, 4, row_f, col_f),
            kFloatTolerance);
}

// The starter kit's upsampling of a patch at (row0, col0): the crop starts at cell
// int(row0 / f) and the patch's position inside that cell is dropped (amsrenv_row_dec = 0), then
// nearest-neighbour upsampling by f.
FloatRaster starter_kit_patch(const FloatRaster& grid, int64_t row0, int64_t col0, int64_t size,
                              int64_t f) {
  FloatRaster patch(size, size);
  for (int64_t r = 0; r < size; ++r)
    for (int64_t c = 0; c < size; ++c)
      patch.at(r, c) = grid.at(std::min(grid.height - 1, row0 / f + r / f),
                               std::min(grid.width - 1, col0 / f + c / f));
  return patch;
}

TEST(DerivedBandsGeometry, TheCheckIsSensitiveToTheHalfCellShiftOfTheStarterKit) {
  const Gradient g;
  const FloatRaster grid = gradient_grid(g, 8, 8, 25, 25);
  // Bilinear with the centres put at k f (the half-cell offset dropped) instead of k f + 12: the
  // correct band read 12 pixels further on.
  FloatRaster shifted(200, 200);
  Scene scene = scene_with_grid(200, 200, grid);
  add_derived_bands(scene, {"btemp_18_7h"});
  for (int64_t r = 0; r < 200; ++r)
    for (int64_t c = 0; c < 200; ++c)
      shifted.at(r, c) =
          scene.band("btemp_18_7h")
              .pixels.at(std::min<int64_t>(199, r + 12), std::min<int64_t>(199, c + 12));
  EXPECT_LT(interior_error(scene.band("btemp_18_7h").pixels, g, 8, 8, 25, 25), kFloatTolerance);
  // Half a cell off: about 12 pixels x 0.021 per pixel of error, far above float precision.
  EXPECT_GT(interior_error(shifted, g, 8, 8, 25, 25), 0.2);

  // The starter kit's patch at (30, 55), compared with the gradient at the patch's true position.
  const FloatRaster patch = starter_kit_patch(grid, 30, 55, 100, 25);
  double worst = 0;
  for (int64_t r = 0; r < 100; ++r)
    for (int64_t c = 0; c < 100; ++c)
      worst = std::max(worst, std::abs(patch.at(r, c) - g.at(30.0 + r, 55.0 + c)));
  EXPECT_GT(worst, 0.2);
}

TEST(DerivedBands, GridsInPhysicalUnitsAreZScoredWithThePublishedStatistics) {
  const MeanStd stats = *ai4arctic_band_stats("btemp_18_7h");
  FloatRaster kelvin(3, 3, static_cast<float>(stats.mean + 2.0 * stats.std));
  Scene scene = scene_with_grid(64, 64, kelvin, "K");
  add_derived_bands(scene, {"btemp_18_7h"});
  const Band& band = scene.band("btemp_18_7h");
  EXPECT_EQ(band.units, "zscore");
  for (float v : band.pixels.data)
    ASSERT_NEAR(v, 2.0, 1e-5);
  // Stored z-scores are kept as they are.
  Scene stored = scene_with_grid(64, 64, FloatRaster(3, 3, 0.75f));
  add_derived_bands(stored, {"btemp_18_7h"});
  EXPECT_FLOAT_EQ(stored.band("btemp_18_7h").pixels.at(40, 5), 0.75f);
}

TEST(DerivedBands, NamesTheSceneCannotGiveStayMissingAndBandsAreNotReplaced) {
  Scene scene = scene_with_grid(30, 30, FloatRaster(2, 2, 1.0f));
  scene.acquisition_time.clear();
  const auto added =
      add_derived_bands(scene, {"hh_db", "btemp_36_5v", "month_sin", "latitude", "nope"});
  EXPECT_TRUE(added.empty());
  EXPECT_EQ(scene.band_names(), (std::vector<std::string>{"hh_db", "hv_db"}));
  EXPECT_FLOAT_EQ(scene.band("hh_db").pixels.at(0, 0), -15.0f);
  EXPECT_TRUE(is_derived_band_name("btemp_36_5v"));
  EXPECT_TRUE(is_derived_band_name("t2m"));
  EXPECT_TRUE(is_derived_band_name("month_cos"));
  EXPECT_FALSE(is_derived_band_name("nope"));
}

TEST(DerivedBands, MonthIsEncodedCyclicallyAsZScores) {
  EXPECT_EQ(month_of_time("2020-11-02T21:45:50Z"), 11);
  EXPECT_EQ(month_of_time("2019-01"), 1);
  EXPECT_FALSE(month_of_time("2019-13-01").has_value());
  EXPECT_FALSE(month_of_time("").has_value());
  // January at phase 0, July opposite, December next to January.
  EXPECT_NEAR(month_sin_encoding(1), 0.0, 1e-12);
  EXPECT_NEAR(month_cos_encoding(1), std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(month_cos_encoding(7), -std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(month_sin_encoding(12), -month_sin_encoding(2), 1e-12);
  EXPECT_NEAR(month_cos_encoding(12), month_cos_encoding(2), 1e-12);
  // Over the twelve months: mean 0, variance 1 (z-scores of a uniform year).
  double sum_sin = 0, sum_cos = 0, sq_sin = 0, sq_cos = 0;
  for (int m = 1; m <= 12; ++m) {
    sum_sin += month_sin_encoding(m);
    sum_cos += month_cos_encoding(m);
    sq_sin += month_sin_encoding(m) * month_sin_encoding(m);
    sq_cos += month_cos_encoding(m) * month_cos_encoding(m);
  }
  EXPECT_NEAR(sum_sin, 0.0, 1e-12);
  EXPECT_NEAR(sum_cos, 0.0, 1e-12);
  EXPECT_NEAR(sq_sin / 12, 1.0, 1e-12);
  EXPECT_NEAR(sq_cos / 12, 1.0, 1e-12);

  Scene scene = scene_with_grid(10, 12, FloatRaster(1, 1, 0.0f));
  scene.acquisition_time = "2020-11-02T21:45:50Z";
  add_derived_bands(scene, {"month_sin", "month_cos"});
  for (float v : scene.band("month_sin").pixels.data)
    ASSERT_FLOAT_EQ(v, static_cast<float>(std::sqrt(2.0) * std::sin(2 * kPi * 10 / 12)));
  for (float v : scene.band("month_cos").pixels.data)
    ASSERT_FLOAT_EQ(v, static_cast<float>(std::sqrt(2.0) * std::cos(2 * kPi * 10 / 12)));
  EXPECT_EQ(scene.band("month_cos").units, "zscore");
}

TEST(DerivedBands, LatitudeAndLongitudeComeFromTheSubgrid) {
  // 3 x 3 points over 21 x 41 pixels: point (i, j) at pixel (10 i, 20 j).
  Scene scene = scene_with_grid(21, 41, FloatRaster(1, 1, 0.0f));
  scene.latitude_grid = FloatRaster(3, 3);
  scene.longitude_grid = FloatRaster(3, 3);
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      scene.latitude_grid.at(i, j) = static_cast<float>(70.0 + 0.1 * (10 * i) + 0.05 * (20 * j));
      scene.longitude_grid.at(i, j) = static_cast<float>(-60.0 + 0.2 * (20 * j) - 0.1 * (10 * i));
    }
  }
  add_derived_bands(scene, {"latitude", "longitude"});
  const MeanStd lat = latitude_statistics(), lon = longitude_statistics();
  EXPECT_DOUBLE_EQ(lat.mean, 69.1253);
  EXPECT_DOUBLE_EQ(lon.std, 31.3294);
  for (int64_t r = 0; r < 21; ++r) {
    for (int64_t c = 0; c < 41; ++c) {
      const double latitude = 70.0 + 0.1 * r + 0.05 * c;
      const double longitude = -60.0 + 0.2 * c - 0.1 * r;
      ASSERT_NEAR(scene.band("latitude").pixels.at(r, c), (latitude - lat.mean) / lat.std, 2e-6)
          << r << "," << c;
      ASSERT_NEAR(scene.band("longitude").pixels.at(r, c), (longitude - lon.mean) / lon.std, 2e-6)
          << r << "," << c;
    }
  }
}

TEST(DerivedBands, LongitudeIsInterpolatedAcrossTheDateline) {
  // Two points, 179 E and 179 W, over 5 pixels: 179.5, -180, -179.5 between them (not 89.5, 0).
  Scene scene = scene_with_grid(1, 5, FloatRaster(1, 1, 0.0f));
  scene.latitude_grid = FloatRaster(1, 2, 80.0f);
  scene.longitude_grid = FloatRaster(1, 2);
  scene.longitude_grid.data = {179.0f, -179.0f};
  add_derived_bands(scene, {"longitude"});
  const MeanStd lon = longitude_statistics();
  const std::vector<double> expected = {179.0, 179.5, -180.0, -179.5, -179.0};
  for (int64_t c = 0; c < 5; ++c)
    EXPECT_NEAR(scene.band("longitude").pixels.at(0, c), (expected[c] - lon.mean) / lon.std, 1e-5)
        << c;
}

TEST(DerivedBands, ReadingANetcdfAddsTheRequestedBands) {
  if (!netcdf_supported()) GTEST_SKIP() << "no netCDF in this build";
  // A scene with a grid in kelvin (as the simulator makes it): the file holds z-scores, and
  // reading with derived_bands gives the interpolated z-scores.
  const MeanStd stats = *ai4arctic_band_stats("btemp_18_7h");
  const Gradient g;
  FloatRaster kelvin = gradient_grid(g, 4, 5, 25, 25);
  for (float& v : kelvin.data)
    v = static_cast<float>(stats.mean + stats.std * v);
  Scene scene = scene_with_grid(90, 110, kelvin, "K");
  scene.acquisition_time = "2021-03-15T10:10:10Z";
  testing::TempDir dir;
  write_scene(scene, dir.path() / "s.nc");

  const Scene plain = read_scene(dir.path() / "s.nc");
  ASSERT_EQ(plain.aux.size(), 1u);
  EXPECT_EQ(plain.aux[0].units, "zscore");
  EXPECT_NEAR(plain.aux[0].pixels.at(1, 2), g.at(37, 62), 1e-5);
  EXPECT_EQ(plain.find_band("btemp_18_7h"), nullptr);

  SceneReadOptions options;
  options.derived_bands = {"hh_db", "btemp_18_7h", "month_cos", "latitude"};
  const Scene read = read_scene(dir.path() / "s.nc", options);
  EXPECT_EQ(read.band_names(),
            (std::vector<std::string>{"hh_db", "hv_db", "btemp_18_7h", "month_cos"}));
  EXPECT_LT(interior_error(read.band("btemp_18_7h").pixels, g, 4, 5, 25, 25), 2e-5);
  EXPECT_FLOAT_EQ(read.band("month_cos").pixels.at(0, 0),
                  static_cast<float>(month_cos_encoding(3)));
}

TEST(DerivedBands, AGridInPhysicalUnitsWithoutPublishedStatisticsIsNotWritten) {
  if (!netcdf_supported()) GTEST_SKIP() << "no netCDF in this build";
  Scene scene = scene_with_grid(30, 30, FloatRaster(2, 2, 250.0f), "K");
  scene.aux[0].name = "btemp_unknown";
  testing::TempDir dir;
  try {
    write_scene(scene, dir.path() / "s.nc");
    ADD_FAILURE() << "written";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("btemp_unknown"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "s.nc"));
}

}  // namespace
}  // namespace sarseg::io
