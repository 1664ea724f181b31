// Simulator building blocks and scene structure: random numbers, fields, distance transform,
// spec validation, labels, geometry, determinism.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "sarseg/synth/aux_grids.h"
#include "sarseg/synth/fields.h"
#include "sarseg/synth/random.h"
#include "sarseg/synth/splits.h"
#include "sarseg/synth/synth.h"
#include "sarseg/util/error.h"

namespace sarseg::synth {
namespace {

SynthSpec small_spec(io::Season season, uint64_t seed, int size = 160) {
  SynthSpec spec;
  spec.season = season;
  spec.seed = seed;
  spec.height = size;
  spec.width = size + 24;
  return spec;
}

TEST(SynthRandom, GammaHasMeanAndVarianceOfItsShape) {
  for (double shape : {0.7, 1.0, 4.4, 16.0}) {
    Rng rng(42, "gamma");
    const int count = 200000;
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < count; ++i) {
      const double g = rng.gamma(shape);
      ASSERT_GT(g, 0.0);
      sum += g;
      sum_sq += g * g;
    }
    const double mean = sum / count, variance = sum_sq / count - mean * mean;
    EXPECT_NEAR(mean, shape, 0.02 * shape) << "shape " << shape;
    EXPECT_NEAR(variance, shape, 0.05 * shape) << "shape " << shape;
  }
}

TEST(SynthRandom, NormalIsStandard) {
  Rng rng(7);
  const int count = 200000;
  double sum = 0, sum_sq = 0, beyond_two = 0;
  for (int i = 0; i < count; ++i) {
    const double x = rng.normal();
    sum += x;
    sum_sq += x * x;
    beyond_two += std::abs(x) > 2.0;
  }
  EXPECT_NEAR(sum / count, 0.0, 0.01);
  EXPECT_NEAR(sum_sq / count, 1.0, 0.02);
  EXPECT_NEAR(beyond_two / count, 0.0455, 0.003);
}

TEST(SynthRandom, StreamsAreDeterministicAndIndependent) {
  Rng a(5, "land"), b(5, "land"), c(5, "chart"), d(6, "land");
  const uint64_t first = a.next();
  EXPECT_EQ(first, b.next());
  EXPECT_NE(first, c.next());
  EXPECT_NE(first, d.next());
}

TEST(SynthRandom, InverseNormalCdf) {
  EXPECT_NEAR(inverse_normal_cdf(0.5), 0.0, 1e-9);
  EXPECT_NEAR(inverse_normal_cdf(0.975), 1.959964, 1e-5);
  EXPECT_NEAR(inverse_normal_cdf(0.01), -2.326348, 1e-5);
}

TEST(SynthFields, BoxBlurKeepsConstantsAndSmooths) {
  std::vector<float> image(30 * 40, 3.5f);
  box_blur(image, 30, 40, 4);
  for (float v : image)
    EXPECT_NEAR(v, 3.5f, 1e-5f);
  std::vector<float> impulse(21 * 21, 0.0f);
  impulse[10 * 21 + 10] = 1.0f;
  box_blur(impulse, 21, 21, 1, 1);
  EXPECT_NEAR(impulse[10 * 21 + 10], 1.0f / 9.0f, 1e-6f);
  EXPECT_NEAR(impulse[9 * 21 + 11], 1.0f / 9.0f, 1e-6f);
  EXPECT_EQ(impulse[8 * 21 + 10], 0.0f);
}

double lag_correlation(const io::FloatRaster& f, int lag) {
  double sum = 0;
  int64_t count = 0;
  for (int64_t r = 0; r < f.height; ++r)
    for (int64_t c = 0; c + lag < f.width; ++c, ++count)
      sum += f.at(r, c) * f.at(r, c + lag);
  return sum / static_cast<double>(count);
}

TEST(SynthFields, GaussianFieldIsStandardisedWithItsCorrelationLength) {
  Rng rng(11);
  const auto smooth = gaussian_field(200, 300, 12.0, rng);
  const auto rough = gaussian_field(200, 300, 1.0, rng);
  double sum = 0, sum_sq = 0;
  for (float v : smooth.data) {
    sum += v;
    sum_sq += v * v;
  }
  const double n = static_cast<double>(smooth.data.size());
  EXPECT_NEAR(sum / n, 0.0, 1e-4);
  EXPECT_NEAR(sum_sq / n, 1.0, 1e-3);
  // Gaussian kernel sigma s: correlation at lag L is exp(-L^2 / (4 s^2)).
  EXPECT_NEAR(lag_correlation(smooth, 12), std::exp(-0.25), 0.15);
  EXPECT_LT(lag_correlation(rough, 4), 0.2);
  EXPECT_GT(lag_correlation(smooth, 3), 0.9);
}

TEST(SynthFields, DistanceTransformMatchesBruteForce) {
  io::LabelRaster mask(37, 53, 0);
  Rng rng(3);
  std::vector<std::pair<int, int>> points;
  for (int k = 0; k < 12; ++k) {
    const int r = static_cast<int>(rng.uniform_int(0, 36)),
              c = static_cast<int>(rng.uniform_int(0, 52));
    mask.at(r, c) = 1;
    points.emplace_back(r, c);
  }
  const auto distance = distance_to_mask(mask);
  for (int64_t r = 0; r < mask.height; ++r) {
    for (int64_t c = 0; c < mask.width; ++c) {
      double best = 1e9;
      for (auto [pr, pc] : points)
        best = std::min(best, std::hypot(static_cast<double>(r - pr), static_cast<double>(c - pc)));
      ASSERT_NEAR(distance.at(r, c), best, 1e-3) << r << "," << c;
    }
  }
  const auto none = distance_to_mask(io::LabelRaster(4, 5, 0));
  EXPECT_TRUE(std::isinf(none.at(2, 2)));
}

TEST(SynthSpec, RejectsUnusableSpecsNamingTheField) {
  SynthSpec spec;
  spec.height = 4;
  try {
    validate(spec);
    FAIL() << "accepted a 4-pixel scene";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("size"), std::string::npos) << e.what();
  }
  spec = SynthSpec{};
  spec.looks = 0;
  EXPECT_THROW(validate(spec), UserError);
  spec = SynthSpec{};
  spec.pixel_spacing_m = -80;
  EXPECT_THROW(validate(spec), UserError);
  spec = SynthSpec{};
  spec.season = io::Season::kUnknown;
  EXPECT_THROW(validate(spec), UserError);
  EXPECT_NO_THROW(validate(SynthSpec{}));
  EXPECT_EQ(parse_label_mode("Pixel"), LabelMode::kPixel);
  EXPECT_THROW(parse_label_mode("polygons"), UserError);
}

TEST(SynthScene, HasTheAi4ArcticBandsLabelsAndRanges) {
  for (auto season : {io::Season::kFreezeUp, io::Season::kWinter, io::Season::kMelt}) {
    const auto spec = small_spec(season, 3);
    const io::Scene scene = generate_scene(spec);
    SCOPED_TRACE(io::to_string(season));
    EXPECT_NO_THROW(scene.check_consistent());
    EXPECT_EQ(scene.height, spec.height);
    EXPECT_EQ(scene.width, spec.width);
    EXPECT_EQ(scene.season, season);
    EXPECT_EQ(scene.band_names(),
              (std::vector<std::string>{"hh_db", "hv_db", "incidence_deg", "distance_map"}));
    EXPECT_EQ(scene.band("hh_db").units, "dB");
    EXPECT_EQ(scene.band("incidence_deg").units, "deg");
    for (const char* name : {"SIC", "SOD", "FLOE", "SIC_pixel", "SOD_pixel", "FLOE_pixel"})
      ASSERT_TRUE(scene.labels.count(name)) << name;
    const auto& sic = scene.labels.at("SIC").data;
    const auto& sod = scene.labels.at("SOD").data;
    const auto& floe = scene.labels.at("FLOE").data;
    const auto& sic_pixel = scene.labels.at("SIC_pixel").data;
    const auto& distance = scene.band("distance_map").pixels.data;
    for (size_t i = 0; i < sic.size(); ++i) {
      ASSERT_TRUE(sic[i] <= 10 || sic[i] == 255);
      ASSERT_TRUE(sod[i] <= 5 || sod[i] == 255);
      ASSERT_TRUE(floe[i] <= 6 || floe[i] == 255);
      ASSERT_TRUE(sic_pixel[i] == 0 || sic_pixel[i] == 10 || sic_pixel[i] == 255);
      // AI4Arctic rule: where SIC is 0, SOD and FLOE are 0 too.
      if (sic[i] == 0) {
        ASSERT_TRUE(sod[i] == 0 && floe[i] == 0);
      }
      // Land: distance zone 0 and every label masked.
      const bool land = distance[i] == 0.0f;
      ASSERT_EQ(land, sic_pixel[i] == 255);
      if (land) {
        ASSERT_TRUE(sic[i] == 255 && sod[i] == 255 && floe[i] == 255);
      }
      ASSERT_GE(distance[i], 0.0f);
      ASSERT_LE(distance[i], 10.0f);
    }
    for (float v : scene.band("hh_db").pixels.data) {
      ASSERT_TRUE(std::isfinite(v));
      ASSERT_GT(v, -70.0f);
      ASSERT_LT(v, 20.0f);
    }
    // Incidence: EW swath, monotone across range, constant along azimuth.
    const auto& inc = scene.band("incidence_deg").pixels;
    const float first = inc.at(0, 0), last = inc.at(0, inc.width - 1);
    EXPECT_NEAR(std::min(first, last), spec.incidence_near_deg, 0.5);
    EXPECT_NEAR(std::max(first, last), spec.incidence_far_deg, 0.5);
    EXPECT_EQ(inc.at(0, 5), inc.at(inc.height - 1, 5));
    // Georeference and time.
    ASSERT_TRUE(scene.geo.has_value());
    EXPECT_NE(scene.geo->crs_wkt.find("3413"), std::string::npos);
    EXPECT_DOUBLE_EQ(scene.geo->transform[1], spec.pixel_spacing_m);
    EXPECT_DOUBLE_EQ(scene.geo->transform[5], -spec.pixel_spacing_m);
    ASSERT_GE(scene.acquisition_time.size(), 10u);
    const int month = std::stoi(scene.acquisition_time.substr(5, 2));
    EXPECT_EQ(io::season_from_date(month, 75.0), season) << scene.acquisition_time;
    EXPECT_EQ(scene.id.substr(0, 8), scene.acquisition_time.substr(0, 4) +
                                         scene.acquisition_time.substr(5, 2) +
                                         scene.acquisition_time.substr(8, 2));
    EXPECT_EQ(scene_file_name(scene, "nc"), scene.id + "_prep.nc");
    ASSERT_FALSE(scene.latitude_grid.empty());
    for (float lat : scene.latitude_grid.data) {
      ASSERT_GT(lat, 55.0f);
      ASSERT_LT(lat, 90.0f);
    }
  }
}

TEST(SynthScene, SameSeedSameSceneOtherSeedOtherScene) {
  const auto spec = small_spec(io::Season::kMelt, 17);
  const io::Scene a = generate_scene(spec), b = generate_scene(spec);
  auto other_spec = spec;
  other_spec.seed = 18;
  const io::Scene c = generate_scene(other_spec);
  ASSERT_EQ(a.bands.size(), b.bands.size());
  for (size_t k = 0; k < a.bands.size(); ++k)
    EXPECT_EQ(a.bands[k].pixels.data, b.bands[k].pixels.data) << a.bands[k].name;
  ASSERT_EQ(a.labels.size(), b.labels.size());
  for (const auto& [name, raster] : a.labels)
    EXPECT_EQ(raster.data, b.labels.at(name).data) << name;
  EXPECT_EQ(a.id, b.id);
  EXPECT_NE(a.band("hh_db").pixels.data, c.band("hh_db").pixels.data);
  EXPECT_NE(a.labels.at("SOD_pixel").data, c.labels.at("SOD_pixel").data);
  // A batch member is the single scene with the shifted seed.
  EXPECT_EQ(batch_member(spec, 1).seed, other_spec.seed);
}

TEST(SynthScene, PixelLabelModeSwapsTheLabelSets) {
  auto spec = small_spec(io::Season::kWinter, 9);
  const io::Scene chart = generate_scene(spec);
  spec.label_mode = LabelMode::kPixel;
  const io::Scene pixel = generate_scene(spec);
  for (const std::string name : {"SIC", "SOD", "FLOE"}) {
    EXPECT_EQ(chart.labels.at(name).data, pixel.labels.at(name + "_chart").data) << name;
    EXPECT_EQ(chart.labels.at(name + "_pixel").data, pixel.labels.at(name).data) << name;
  }
  EXPECT_EQ(chart.band("hh_db").pixels.data, pixel.band("hh_db").pixels.data);
  const auto a = measure_label_agreement(chart), b = measure_label_agreement(pixel);
  EXPECT_DOUBLE_EQ(a.sod_disagreement, b.sod_disagreement);
  EXPECT_DOUBLE_EQ(a.sic_mean_abs_error, b.sic_mean_abs_error);
}

TEST(SynthScene, PixelTruthRealisesTheChartConcentrations) {
  // Inside polygons charted with k tenths of ice, about k/10 of the pixels are ice in truth
  // (the analyst's estimate scatters, and chart and truth boundaries differ a little).
  std::array<double, 11> ice{}, total{};
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    SynthSpec spec = small_spec(io::Season::kMelt, seed, 240);
    spec.chart_polygon_size_km = 10;
    const io::Scene scene = generate_scene(spec);
    const auto& chart = scene.labels.at("SIC").data;
    const auto& truth = scene.labels.at("SIC_pixel").data;
    for (size_t i = 0; i < chart.size(); ++i) {
      if (chart[i] > 10) continue;
      total[chart[i]] += 1;
      ice[chart[i]] += truth[i] == 10;
    }
  }
  int checked = 0;
  for (int k = 0; k <= 10; ++k) {
    if (total[static_cast<size_t>(k)] < 2000) continue;
    ++checked;
    EXPECT_NEAR(ice[static_cast<size_t>(k)] / total[static_cast<size_t>(k)], k / 10.0, 0.15)
        << "chart SIC " << k;
  }
  EXPECT_GE(checked, 3);
}

TEST(SynthScene, HvNoiseFloorRisesAtSubSwathEdges) {
  // Light wind: open-water HV is mostly residual noise, which is lowest in the middle of each of
  // the five EW sub-swaths and highest at their edges (scalloping), plus per-sub-swath offsets.
  SynthSpec spec = small_spec(io::Season::kFreezeUp, 21, 300);
  spec.width = 500;
  spec.wind_speed_ms = 3.0;
  spec.land_probability = 0;
  SynthTruth truth;
  const io::Scene scene = generate_scene(spec, &truth);
  const auto& sic = scene.labels.at("SIC_pixel");
  const auto mean_db = [&](int64_t c0, int64_t c1) {
    double sum = 0;
    int64_t count = 0;
    for (int64_t r = 0; r < spec.height; ++r)
      for (int64_t c = c0; c < c1; ++c)
        if (sic.at(r, c) == 0) {
          sum += 10 * std::log10(truth.hv_sigma0.at(r, c));
          ++count;
        }
    return count > 0 ? sum / static_cast<double>(count) : 0.0;
  };
  const int64_t sub = spec.width / 5, margin = sub / 10;
  for (int k = 0; k < 5; ++k) {
    const int64_t start = k * sub, centre = start + sub / 2;
    const double edges =
        0.5 * (mean_db(start, start + margin) + mean_db(start + sub - margin, start + sub));
    const double middle = mean_db(centre - margin / 2, centre + margin / 2);
    EXPECT_GT(edges - middle, 0.3) << "sub-swath " << k;
  }
}

// A shifted test split (the experiment's data.test_domains) is the same ice imaged otherwise:
// the same scenes, labels and order, other backscatter.
TEST(SynthSplits, ShiftedTestSplitKeepsTheIceAndChangesTheImage) {
  SplitOptions options;
  options.seasons = {"freeze-up", "melt"};
  options.test_per_season = 2;
  options.size = "64";
  const GeneratedSplits splits = generate_splits(options);
  const auto shifted =
      generate_shifted_test_split(options, [](SynthSpec& spec) { spec.looks = 2.0; });
  ASSERT_EQ(shifted.size(), splits.test.size());
  for (size_t i = 0; i < shifted.size(); ++i) {
    EXPECT_EQ(shifted[i].season, splits.test[i].season);
    for (const auto& [name, raster] : splits.test[i].labels)
      EXPECT_EQ(raster.data, shifted[i].labels.at(name).data) << name << " of scene " << i;
    EXPECT_NE(shifted[i].band("hh_db").pixels.data, splits.test[i].band("hh_db").pixels.data);
  }
}

TEST(SynthAuxGrids, ScenesCarryAmsr2AndEra5OnThe2kmGrid) {
  SynthSpec spec = small_spec(io::Season::kWinter, 3, 160);  // 160 x 184 pixels of 80 m
  const io::Scene scene = generate_scene(spec);
  std::vector<std::string> names;
  for (const auto& grid : scene.aux) {
    names.push_back(grid.name);
    EXPECT_EQ(grid.pixels.height, 7);  // ceil(160 / 25)
    EXPECT_EQ(grid.pixels.width, 8);   // ceil(184 / 25)
  }
  EXPECT_EQ(names, aux_grid_names());
  EXPECT_EQ(names.size(), 20u);
  EXPECT_EQ(names.front(), "btemp_6_9h");
  EXPECT_EQ(names.back(), "tclw");
  EXPECT_EQ(aux_cell_pixels(80.0), 25);
  EXPECT_EQ(aux_cell_pixels(40.0), 50);
}

TEST(SynthAuxGrids, BrightnessTemperatureFollowsTheCellsIceConcentration) {
  // Left half open water (SIC 0), right half ice (SIC 10): 2 x 4 cells of 25 pixels.
  io::LabelRaster land(50, 100, 0), sic(50, 100, 0);
  for (int64_t r = 0; r < 50; ++r)
    for (int64_t c = 50; c < 100; ++c)
      sic.at(r, c) = 10;
  const auto grids = make_aux_grids(land, sic, 80.0, 5.0, 1);
  const auto& tb = grids[6];  // btemp_18_7h
  ASSERT_EQ(tb.name, "btemp_18_7h");
  EXPECT_NEAR(tb.pixels.at(0, 0), 110.0, 1.5);
  EXPECT_NEAR(tb.pixels.at(1, 3), 230.0, 1.5);
}

}  // namespace
}  // namespace sarseg::synth
