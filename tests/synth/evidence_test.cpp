// The simulator's statistical claims, measured on generated scenes (figures are printed):
//   - a default winter set lands near the published AI4Arctic global HH/HV statistics;
//   - the speckle's equivalent number of looks, measured in homogeneous areas, is --looks;
//   - a per-pixel Gaussian classifier separates water from ice on freeze-up scenes and clearly
//     worse on melt scenes (the paper's melt-season difficulty);
//   - chart labels disagree with pixel truth by a measurable, non-trivial amount;
//   - wind roughens open water in HH, while HV stays near the noise floor; wet snow damps ice.
// Compiled twice: SARSEG_SYNTH_SLOW_EVIDENCE=1 (test_synth_statistics, label slow: the winter
// statistics and the classifier, ~40 scenes) and 0 (test_synth_evidence, label unit).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sarseg/synth/fields.h"
#include "sarseg/synth/synth.h"
#include "support/test_support.h"

namespace sarseg::synth {
namespace {

SynthSpec season_spec(io::Season season, uint64_t seed, int size) {
  SynthSpec spec;
  spec.season = season;
  spec.seed = seed;
  spec.height = size;
  spec.width = size;
  return spec;
}

struct Moments {
  double sum = 0, sum_sq = 0;
  int64_t count = 0;
  void add(double v) {
    sum += v;
    sum_sq += v * v;
    ++count;
  }
  double mean() const { return sum / static_cast<double>(count); }
  double stddev() const { return std::sqrt(sum_sq / static_cast<double>(count) - mean() * mean()); }
};

#if SARSEG_SYNTH_SLOW_EVIDENCE
TEST(SynthEvidence, WinterSetMatchesAi4ArcticGlobalStatistics) {
  const auto stats_path = testing::shared_dir() / "fixtures/ai4arctic_stats/global_meanstd.json";
  std::ifstream in(stats_path);
  ASSERT_TRUE(in) << "missing " << stats_path;
  const auto stats = nlohmann::json::parse(in);
  const double hh_mean = stats["nersc_sar_primary"]["mean"],
               hh_std = stats["nersc_sar_primary"]["std"];
  const double hv_mean = stats["nersc_sar_secondary"]["mean"],
               hv_std = stats["nersc_sar_secondary"]["std"];

  Moments hh, hv;
  for (int k = 0; k < 4; ++k) {
    const io::Scene scene =
        generate_scene(batch_member(season_spec(io::Season::kWinter, 1, 600), k));
    for (size_t i = 0; i < scene.band("hh_db").pixels.data.size(); ++i) {
      hh.add(scene.band("hh_db").pixels.data[i]);
      hv.add(scene.band("hv_db").pixels.data[i]);
    }
  }
  std::printf(
      "winter set (4 x 600x600, seeds 1-4): HH %.3f +- %.3f dB (AI4Arctic %.3f +- %.3f), "
      "HV %.3f +- %.3f dB (AI4Arctic %.3f +- %.3f)\n",
      hh.mean(), hh.stddev(), hh_mean, hh_std, hv.mean(), hv.stddev(), hv_mean, hv_std);
  EXPECT_NEAR(hh.mean(), hh_mean, 2.0);
  EXPECT_NEAR(hv.mean(), hv_mean, 1.5);
  EXPECT_NEAR(hh.stddev() / hh_std, 1.0, 0.3);
  EXPECT_NEAR(hv.stddev() / hv_std, 1.0, 0.3);
}

#endif

// Equivalent number of looks of linear intensity, pooled over 7x7 windows whose noise-free
// backscatter is homogeneous (coefficient of variation below 5 %): 1 / mean(var / mean^2).
// The windows are chosen from the noise-free truth, as an analyst picks uniform areas, so the
// choice does not favour windows where the speckle happened to be weak.
[[maybe_unused]] double measured_looks(const io::Scene& scene, const SynthTruth& truth,
                                       const std::string& band, int* windows_used) {
  const auto& db = scene.band(band).pixels;
  const auto& sigma = band == "hh_db" ? truth.hh_sigma0 : truth.hv_sigma0;
  const int size = 7;
  double sum_ratio = 0;
  int windows = 0;
  for (int64_t r0 = 0; r0 + size <= db.height; r0 += size) {
    for (int64_t c0 = 0; c0 + size <= db.width; c0 += size) {
      Moments truth_moments, intensity;
      for (int64_t r = r0; r < r0 + size; ++r) {
        for (int64_t c = c0; c < c0 + size; ++c) {
          truth_moments.add(sigma.at(r, c));
          intensity.add(std::pow(10.0, db.at(r, c) / 10.0));
        }
      }
      if (truth_moments.stddev() / truth_moments.mean() > 0.05) continue;
      const double n = static_cast<double>(intensity.count);
      const double variance = intensity.stddev() * intensity.stddev() * n / (n - 1);
      sum_ratio += variance / (intensity.mean() * intensity.mean());
      ++windows;
    }
  }
  *windows_used = windows;
  return windows > 0 ? windows / sum_ratio : 0.0;
}

#if !SARSEG_SYNTH_SLOW_EVIDENCE
TEST(SynthEvidence, MeasuredLooksMatchTheRequestedLooks) {
  for (double looks : {3.0, 16.0}) {
    for (auto season : {io::Season::kWinter, io::Season::kMelt}) {
      SynthSpec spec = season_spec(season, 5, 400);
      spec.looks = looks;
      SynthTruth truth;
      const io::Scene scene = generate_scene(spec, &truth);
      for (const std::string band : {"hh_db", "hv_db"}) {
        int windows = 0;
        const double enl = measured_looks(scene, truth, band, &windows);
        std::printf("looks %.1f %s %s: ENL %.2f over %d homogeneous 7x7 windows\n", looks,
                    io::to_string(season).c_str(), band.c_str(), enl, windows);
        ASSERT_GE(windows, 50);
        EXPECT_NEAR(enl / looks, 1.0, 0.15) << band << " " << io::to_string(season);
      }
    }
  }
}

#endif

// ---- water / ice separability --------------------------------------------------------------

struct Sample {
  std::array<double, 2> x;  // 5x5-mean HH dB, HV dB
  int ice;                  // pixel truth
};

[[maybe_unused]] std::vector<Sample> samples(const io::Scene& scene) {
  const int64_t h = scene.height, w = scene.width;
  std::vector<float> hh = scene.band("hh_db").pixels.data, hv = scene.band("hv_db").pixels.data;
  box_blur(hh, h, w, 2, 1);
  box_blur(hv, h, w, 2, 1);
  const auto& truth = scene.labels.at("SIC_pixel").data;
  std::vector<Sample> out;
  for (size_t i = 0; i < truth.size(); ++i)
    if (truth[i] != io::kLabelFill) out.push_back({{hh[i], hv[i]}, truth[i] == 10 ? 1 : 0});
  return out;
}

// Quadratic discriminant: one 2-D Gaussian per class with the training prior.
struct GaussianClassifier {
  std::array<std::array<double, 2>, 2> mean{};
  std::array<std::array<double, 3>, 2> cov{};  // xx, xy, yy
  std::array<double, 2> log_prior{};

  explicit GaussianClassifier(const std::vector<Sample>& train) {
    std::array<double, 2> count{};
    for (const auto& s : train) {
      count[s.ice] += 1;
      mean[s.ice][0] += s.x[0];
      mean[s.ice][1] += s.x[1];
    }
    for (int k = 0; k < 2; ++k) {
      mean[k][0] /= count[k];
      mean[k][1] /= count[k];
      log_prior[k] = std::log(count[k] / (count[0] + count[1]));
    }
    for (const auto& s : train) {
      const double dx = s.x[0] - mean[s.ice][0], dy = s.x[1] - mean[s.ice][1];
      cov[s.ice][0] += dx * dx;
      cov[s.ice][1] += dx * dy;
      cov[s.ice][2] += dy * dy;
    }
    for (int k = 0; k < 2; ++k)
      for (auto& v : cov[k])
        v /= count[k];
  }
  double log_likelihood(int k, const std::array<double, 2>& x) const {
    const double det = cov[k][0] * cov[k][2] - cov[k][1] * cov[k][1];
    const double dx = x[0] - mean[k][0], dy = x[1] - mean[k][1];
    const double q = (cov[k][2] * dx * dx - 2 * cov[k][1] * dx * dy + cov[k][0] * dy * dy) / det;
    return log_prior[k] - 0.5 * std::log(det) - 0.5 * q;
  }
  int predict(const std::array<double, 2>& x) const {
    return log_likelihood(1, x) > log_likelihood(0, x) ? 1 : 0;
  }
};

struct Score {
  double accuracy = 0, balanced = 0;
};

[[maybe_unused]] Score evaluate(const GaussianClassifier& model, const std::vector<Sample>& test) {
  std::array<double, 2> correct{}, total{};
  for (const auto& s : test) {
    total[s.ice] += 1;
    correct[s.ice] += model.predict(s.x) == s.ice;
  }
  Score score;
  score.accuracy = (correct[0] + correct[1]) / (total[0] + total[1]);
  score.balanced =
      0.5 * (correct[0] / std::max(1.0, total[0]) + correct[1] / std::max(1.0, total[1]));
  return score;
}

[[maybe_unused]] double ice_fraction(const std::vector<Sample>& s) {
  double ice = 0;
  for (const auto& x : s)
    ice += x.ice;
  return ice / static_cast<double>(s.size());
}

// Trains on one scene and tests on another of the same season, both directions, eight pairs
// (seeds 1-16) of 300x300 scenes; returns the mean scores. wind < 0: each scene draws its own.
[[maybe_unused]] Score train_on_one_test_on_another(io::Season season, double wind) {
  Score mean;
  int runs = 0;
  for (uint64_t first = 1; first <= 15; first += 2) {
    std::array<std::vector<Sample>, 2> scenes;
    for (int k = 0; k < 2; ++k) {
      SynthSpec spec = season_spec(season, first + k, 300);
      spec.chart_polygon_size_km = 8;  // several polygons per 24 km scene: a mix of ice and water
      spec.wind_speed_ms = wind;
      scenes[k] = samples(generate_scene(spec));
    }
    for (int direction = 0; direction < 2; ++direction) {
      const auto& train = scenes[direction];
      const auto& test = scenes[1 - direction];
      if (ice_fraction(train) < 0.02 || ice_fraction(train) > 0.98) continue;  // one class only
      const Score score = evaluate(GaussianClassifier(train), test);
      std::printf(
          "  %s, wind %s, train seed %llu (ice %.2f) -> test seed %llu (ice %.2f): "
          "accuracy %.3f, balanced %.3f\n",
          io::to_string(season).c_str(), wind < 0 ? "per scene" : "7 m/s",
          static_cast<unsigned long long>(first + direction), ice_fraction(train),
          static_cast<unsigned long long>(first + 1 - direction), ice_fraction(test),
          score.accuracy, score.balanced);
      mean.accuracy += score.accuracy;
      mean.balanced += score.balanced;
      ++runs;
    }
  }
  EXPECT_GE(runs, 12) << "too many single-class training scenes";
  mean.accuracy /= runs;
  mean.balanced /= runs;
  return mean;
}

#if SARSEG_SYNTH_SLOW_EVIDENCE
TEST(SynthEvidence, MeltIsHarderThanFreezeUpForAPixelClassifier) {
  // The same wind in every scene isolates the seasonal ice/water contrast. With a wind drawn per
  // scene, open-water HH shifts between scenes (CMOD-like wind dependence) and both seasons get
  // harder; melt stays the harder one.
  const Score freeze = train_on_one_test_on_another(io::Season::kFreezeUp, 7.0);
  const Score melt = train_on_one_test_on_another(io::Season::kMelt, 7.0);
  std::printf("same wind: freeze-up accuracy %.3f (balanced %.3f), melt %.3f (balanced %.3f)\n",
              freeze.accuracy, freeze.balanced, melt.accuracy, melt.balanced);
  EXPECT_GE(freeze.accuracy, 0.9);
  EXPECT_LE(melt.accuracy, freeze.accuracy - 0.05);
  EXPECT_LE(melt.balanced, freeze.balanced - 0.05);

  const Score freeze_wind = train_on_one_test_on_another(io::Season::kFreezeUp, -1.0);
  const Score melt_wind = train_on_one_test_on_another(io::Season::kMelt, -1.0);
  std::printf(
      "wind per scene: freeze-up accuracy %.3f (balanced %.3f), melt %.3f (balanced "
      "%.3f)\n",
      freeze_wind.accuracy, freeze_wind.balanced, melt_wind.accuracy, melt_wind.balanced);
  EXPECT_LE(melt_wind.accuracy, freeze_wind.accuracy - 0.05);
}

#endif

#if !SARSEG_SYNTH_SLOW_EVIDENCE
TEST(SynthEvidence, ChartLabelsDisagreeWithPixelTruthMeasurably) {
  for (auto season : {io::Season::kFreezeUp, io::Season::kWinter, io::Season::kMelt}) {
    double sod = 0, masked = 0, ice_water = 0, sic = 0;
    for (int k = 0; k < 3; ++k) {
      const auto agreement =
          measure_label_agreement(generate_scene(batch_member(season_spec(season, 1, 300), k)));
      sod += agreement.sod_disagreement / 3;
      masked += agreement.sod_chart_masked / 3;
      ice_water += agreement.ice_water_disagreement / 3;
      sic += agreement.sic_mean_abs_error / 3;
    }
    std::printf(
        "%s (3 x 300x300): chart SOD != pixel SOD on %.1f %% of charted pixels, chart SOD "
        "masked on %.1f %%, chart water/ice != pixel on %.1f %%, SIC error %.2f tenths\n",
        io::to_string(season).c_str(), 100 * sod, 100 * masked, 100 * ice_water, sic);
    // Charts are informative but not pixel truth.
    EXPECT_GT(sod, 0.02);
    EXPECT_LT(sod, 0.6);
    EXPECT_GT(ice_water, 0.01);
    EXPECT_GT(sic, 0.1);
  }
}

TEST(SynthEvidence, WindRoughensWaterInHhOnlyAndMeltDampsIce) {
  Moments hh_calm, hh_windy, hv_windy;
  for (double wind : {3.0, 12.0}) {
    SynthSpec spec = season_spec(io::Season::kFreezeUp, 8, 300);
    spec.wind_speed_ms = wind;
    const io::Scene scene = generate_scene(spec);
    const auto& truth = scene.labels.at("SIC_pixel");
    const auto& incidence = scene.band("incidence_deg").pixels;
    for (size_t i = 0; i < truth.data.size(); ++i) {
      if (truth.data[i] != 0 || incidence.data[i] > 30) continue;  // near-range open water
      (wind < 5 ? hh_calm : hh_windy).add(scene.band("hh_db").pixels.data[i]);
      if (wind > 5) hv_windy.add(scene.band("hv_db").pixels.data[i]);
    }
  }
  std::printf(
      "near-range open water HH: %.1f dB at 3 m/s, %.1f dB at 12 m/s; HV at 12 m/s %.1f dB\n",
      hh_calm.mean(), hh_windy.mean(), hv_windy.mean());
  ASSERT_GT(hh_calm.count, 1000);
  EXPECT_GT(hh_windy.mean() - hh_calm.mean(), 6.0);
  EXPECT_LT(hv_windy.mean(), -25.0);

  // Same ice types, dry versus wet snow: melt lowers ice backscatter.
  std::array<Moments, 2> thick_fyi_hv;
  for (int m = 0; m < 2; ++m) {
    const io::Scene scene =
        generate_scene(season_spec(m == 0 ? io::Season::kWinter : io::Season::kMelt, 12, 300));
    const auto& sod = scene.labels.at("SOD_pixel").data;
    for (size_t i = 0; i < sod.size(); ++i)
      if (sod[i] == 4) thick_fyi_hv[m].add(scene.band("hv_db").pixels.data[i]);
  }
  std::printf("thick first-year ice HV: winter %.1f dB, melt %.1f dB\n", thick_fyi_hv[0].mean(),
              thick_fyi_hv[1].mean());
  ASSERT_GT(thick_fyi_hv[0].count, 1000);
  ASSERT_GT(thick_fyi_hv[1].count, 1000);
  EXPECT_LT(thick_fyi_hv[1].mean(), thick_fyi_hv[0].mean() - 2.0);
}

#endif

}  // namespace
}  // namespace sarseg::synth
