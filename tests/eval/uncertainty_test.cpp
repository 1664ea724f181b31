// Uncertainty and calibration on hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "sarseg/eval/uncertainty.h"

namespace sarseg::eval {
namespace {

TEST(Uncertainty, EntropyOfHandCases) {
  const std::vector<float> half{0.5f, 0.5f}, certain{1.0f, 0.0f}, uniform4(4, 0.25f);
  EXPECT_NEAR(entropy(half.data(), 2), std::log(2.0), 1e-7);
  EXPECT_DOUBLE_EQ(entropy(certain.data(), 2), 0.0);
  EXPECT_NEAR(entropy(uniform4.data(), 4), std::log(4.0), 1e-7);
  // Class-major layout: pixel 0 = (0.5, 0.5), pixel 1 = (1, 0).
  const std::vector<float> planes{0.5f, 1.0f, 0.5f, 0.0f};
  float out[2];
  predictive_entropy(planes.data(), 2, 2, out);
  EXPECT_NEAR(out[0], std::log(2.0), 1e-6);
  EXPECT_FLOAT_EQ(out[1], 0.0f);
}

TEST(Uncertainty, MutualInformationOfHandCases) {
  // Two confident members that disagree: all of the entropy is disagreement.
  const auto opposite = pixel_uncertainty({{1.0f, 0.0f}, {0.0f, 1.0f}});
  EXPECT_NEAR(opposite.entropy, std::log(2.0), 1e-6);
  EXPECT_NEAR(opposite.mutual_information, std::log(2.0), 1e-6);
  // (0.8, 0.2) and (0.4, 0.6): mean (0.6, 0.4), H = 0.673012; member entropies 0.500402 and
  // 0.673012, mean 0.586707; I = 0.086305.
  const auto partial = pixel_uncertainty({{0.8f, 0.2f}, {0.4f, 0.6f}});
  EXPECT_NEAR(partial.entropy, 0.673012, 1e-5);
  EXPECT_NEAR(partial.mutual_information, 0.086305, 1e-5);
  // Two members that agree on an uncertain pixel: entropy, but no disagreement.
  const auto agree = pixel_uncertainty({{0.5f, 0.5f}, {0.5f, 0.5f}});
  EXPECT_NEAR(agree.entropy, std::log(2.0), 1e-6);
  EXPECT_NEAR(agree.mutual_information, 0.0, 1e-7);
}

TEST(Uncertainty, IdenticalMembersHaveZeroMutualInformation) {
  const int64_t classes = 6, pixels = 1000, members = 5;
  std::mt19937 rng(3);
  std::gamma_distribution<float> gamma(0.3f);
  std::vector<float> one(static_cast<size_t>(classes * pixels));
  for (int64_t i = 0; i < pixels; ++i) {
    float sum = 0;
    for (int64_t c = 0; c < classes; ++c)
      sum += one[static_cast<size_t>(c * pixels + i)] = gamma(rng) + 1e-6f;
    for (int64_t c = 0; c < classes; ++c)
      one[static_cast<size_t>(c * pixels + i)] /= sum;
  }
  std::vector<float> stacked;
  for (int64_t m = 0; m < members; ++m)
    stacked.insert(stacked.end(), one.begin(), one.end());
  std::vector<float> mean(one.size()), information(static_cast<size_t>(pixels));
  ensemble_mean_and_information(stacked.data(), members, classes, pixels, mean.data(),
                                information.data());
  double total_entropy = 0;
  for (int64_t i = 0; i < pixels; ++i) {
    EXPECT_NEAR(information[static_cast<size_t>(i)], 0.0, 1e-6) << "pixel " << i;
    total_entropy += entropy(one.data() + i, classes, pixels);
  }
  EXPECT_GT(total_entropy, 100.0);  // the pixels are uncertain; only the disagreement is 0
  for (size_t k = 0; k < one.size(); ++k)
    EXPECT_NEAR(mean[k], one[k], 1e-6);
}

TEST(Calibration, ExpectedCalibrationErrorOfAHandCase) {
  CalibrationAccumulator accumulator(10);
  accumulator.add(0.9, true, 0.1);
  accumulator.add(0.9, false, 0.1);
  accumulator.add(0.6, true, 0.5);
  accumulator.add(0.6, true, 0.5);
  // Bin 9: accuracy 0.5, confidence 0.9, half the pixels; bin 6: accuracy 1, confidence 0.6.
  EXPECT_NEAR(accumulator.expected_calibration_error(), 0.5 * 0.4 + 0.5 * 0.4, 1e-12);
  EXPECT_DOUBLE_EQ(accumulator.accuracy(), 0.75);
  const auto bins = accumulator.reliability();
  ASSERT_EQ(bins.size(), 10u);
  EXPECT_EQ(bins[9].pixels, 2);
  EXPECT_DOUBLE_EQ(bins[9].accuracy, 0.5);
  EXPECT_TRUE(std::isnan(bins[0].accuracy));
  // The round trip keeps every count.
  const auto copy = CalibrationAccumulator::from_json(accumulator.to_json(), "test");
  EXPECT_EQ(copy.to_json(), accumulator.to_json());
}

TEST(Calibration, ErrorAurocRanksEntropyOfWrongPixels) {
  CalibrationAccumulator separated, reversed, tied;
  for (int k = 0; k < 10; ++k) {
    separated.add(0.9, true, 0.1);
    separated.add(0.5, false, 0.9);
    reversed.add(0.9, true, 0.9);
    reversed.add(0.5, false, 0.1);
    tied.add(0.9, true, 0.5);
    tied.add(0.5, false, 0.5);
  }
  EXPECT_DOUBLE_EQ(separated.error_auroc(), 1.0);
  EXPECT_DOUBLE_EQ(reversed.error_auroc(), 0.0);
  EXPECT_DOUBLE_EQ(tied.error_auroc(), 0.5);
  CalibrationAccumulator merged = separated;
  merged.merge(reversed);
  EXPECT_DOUBLE_EQ(merged.error_auroc(), 0.5);
  EXPECT_EQ(merged.pixels(), 40);
}

TEST(Calibration, PixelsOfUint8ProbabilitiesSkipNoLabelAndInvalid) {
  // Two classes, p scaled by 254: pixel 0 confident and right, 1 wrong, 2 no truth, 3 invalid.
  const std::vector<uint8_t> p0{254, 0, 127, 254}, p1{0, 254, 127, 0};
  const std::vector<uint8_t> truth{0, 0, 255, 0}, prediction{0, 1, 0, 0}, valid{1, 1, 1, 0};
  CalibrationAccumulator accumulator(10);
  add_calibration_pixels(accumulator, {p0.data(), p1.data()}, truth.data(), prediction.data(),
                         valid.data(), 4);
  EXPECT_EQ(accumulator.pixels(), 2);
  EXPECT_EQ(accumulator.errors(), 1);
  EXPECT_NEAR(accumulator.expected_calibration_error(), 0.5, 1e-12);
}

// An over-confident model: labels drawn from softmax(z), the model says softmax(4 z).
TEST(TemperatureScaling, LowersCalibrationErrorOfAnOverConfidentModel) {
  const int64_t classes = 4;
  const size_t samples = 20000;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> logits;
  std::vector<int> labels;
  for (size_t i = 0; i < samples; ++i) {
    std::vector<double> p(classes);
    double sum = 0;
    std::vector<float> z(classes);
    for (int64_t c = 0; c < classes; ++c) {
      z[static_cast<size_t>(c)] = normal(rng);
      sum += p[static_cast<size_t>(c)] = std::exp(z[static_cast<size_t>(c)]);
    }
    std::discrete_distribution<int> draw(p.begin(), p.end());
    labels.push_back(draw(rng));
    for (float v : z)
      logits.push_back(4.0f * v);
  }
  const double fitted = fit_temperature(logits, classes, labels);
  EXPECT_NEAR(fitted, 4.0, 0.4);
  const double before = logits_calibration_error(logits, classes, labels, 1.0);
  const double after = logits_calibration_error(logits, classes, labels, fitted);
  EXPECT_GT(before, 0.1);
  EXPECT_LT(after, 0.03);
  EXPECT_LT(negative_log_likelihood(logits, classes, labels, fitted),
            negative_log_likelihood(logits, classes, labels, 1.0));
}

TEST(TemperatureScaling, RejectsMismatchedSizes) {
  EXPECT_THROW(fit_temperature({1.0f, 2.0f, 3.0f}, 2, {0}), std::invalid_argument);
  EXPECT_DOUBLE_EQ(fit_temperature({}, 3, {}), 1.0);
}

}  // namespace
}  // namespace sarseg::eval
