// Per-pixel uncertainty and calibration of class probabilities (no model, no torch): the one
// implementation that the ensemble predictor (infer/), `sarseg eval`, training's temperature fit
// and the experiment report use.
//
//   Predictive entropy   H[p̄] = -sum_c p̄_c ln p̄_c, p̄ = the members' mean probabilities (nats).
//   Mutual information   I = H[p̄] - mean_m H[p_m]: the part of the entropy the members disagree
//                        on (0 when every member gives the same probabilities; epistemic).
//   Expected calibration error (ECE): sum over confidence bins of |accuracy - mean confidence|,
//   weighted by the share of pixels in the bin (confidence = the largest class probability).
//   Error AUROC: the probability that a misclassified pixel has a higher entropy than a correctly
//   classified one (ties count one half); 0.5 = entropy says nothing about errors.
//
//   float member_probabilities[M * C * P];   // member-major, then class, then pixel
//   std::vector<float> mean(C * P), information(P), entropy(P);
//   eval::ensemble_mean_and_information(member_probabilities, M, C, P, mean.data(),
//                                       information.data());
//   eval::predictive_entropy(mean.data(), C, P, entropy.data());
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sarseg::eval {

// Entropy in nats of `classes` probabilities spaced `stride` apart (0 ln 0 = 0).
double entropy(const float* probabilities, int64_t classes, int64_t stride = 1);

// Entropy of each of `pixels` pixels of class-major probabilities (probabilities[c * pixels + i]).
void predictive_entropy(const float* probabilities, int64_t classes, int64_t pixels,
                        float* entropy_out);

// Streaming ensemble statistics for one block of pixels: add each member's class-major
// probabilities, then read the mean probabilities and the mutual information. Memory: classes + 1
// floats per pixel, whatever the number of members.
class EnsembleAccumulator {
 public:
  EnsembleAccumulator(int64_t classes, int64_t pixels);
  void add_member(const float* probabilities);  // class-major, classes * pixels
  int64_t members() const { return members_; }
  // Mean probabilities (class-major) and mutual information per pixel (>= 0; rounding below 0 is
  // clamped). std::logic_error before the first member.
  void finish(float* mean_out, float* information_out) const;

 private:
  int64_t classes_, pixels_, members_ = 0;
  std::vector<float> probability_sum_;
  std::vector<double> entropy_sum_;
};

// EnsembleAccumulator over `members` blocks at member_probabilities[(m * classes + c) * pixels].
void ensemble_mean_and_information(const float* member_probabilities, int64_t members,
                                   int64_t classes, int64_t pixels, float* mean_out,
                                   float* information_out);

// One pixel: the members' probability vectors -> predictive entropy and mutual information.
struct PixelUncertainty {
  double entropy = 0;
  double mutual_information = 0;
};
PixelUncertainty pixel_uncertainty(const std::vector<std::vector<float>>& member_probabilities);

// ---- calibration ---------------------------------------------------------------------------

struct ReliabilityBin {
  double lower = 0, upper = 0;  // confidence range [lower, upper)
  int64_t pixels = 0;
  double mean_confidence = 0;  // NaN when empty
  double accuracy = 0;         // NaN when empty
};

// Confidence bins (equal width over [0, 1]) and entropy histograms of correct and wrong pixels;
// pooled by adding counts, so scenes and seeds merge exactly.
class CalibrationAccumulator {
 public:
  static constexpr int kDefaultBins = 15;
  static constexpr int kEntropyBins = 1000;

  CalibrationAccumulator() : CalibrationAccumulator(kDefaultBins) {}
  explicit CalibrationAccumulator(int bins);

  // `confidence` in [0, 1]; `normalised_entropy` = entropy / ln(classes), in [0, 1].
  void add(double confidence, bool correct, double normalised_entropy);
  void merge(const CalibrationAccumulator& other);  // std::invalid_argument when bins differ

  int64_t pixels() const { return pixels_; }
  int64_t errors() const;
  double accuracy() const;                    // NaN with no pixel
  double expected_calibration_error() const;  // NaN with no pixel
  std::vector<ReliabilityBin> reliability() const;
  // AUROC of the entropy as a detector of misclassified pixels (NaN without both kinds).
  double error_auroc() const;

  nlohmann::json to_json() const;  // counts (exact round trip) plus the derived scores
  static CalibrationAccumulator from_json(const nlohmann::json& j, const std::string& where);

 private:
  int bins_;
  int64_t pixels_ = 0;
  std::vector<int64_t> bin_pixels_, bin_correct_;
  std::vector<double> bin_confidence_sum_;
  std::vector<int64_t> entropy_correct_, entropy_wrong_;
};

// Adds the pixels of one class map to `accumulator`: `probabilities` (one uint8 raster per class,
// p * 254, 255 = none), the truth and the class map (255 / `ignore_label` skipped), `valid` (may
// be null). Confidence = the predicted class's probability.
void add_calibration_pixels(CalibrationAccumulator& accumulator,
                            const std::vector<const uint8_t*>& probabilities, const uint8_t* truth,
                            const uint8_t* prediction, const uint8_t* valid, size_t pixels,
                            int ignore_label = -1);

// ---- temperature scaling -------------------------------------------------------------------

// Mean negative log-likelihood of `labels` under softmax(logits / temperature); logits are
// pixel-major (logits[i * classes + c]).
double negative_log_likelihood(const std::vector<float>& logits, int64_t classes,
                               const std::vector<int>& labels, double temperature);

// The temperature minimising that NLL: golden-section search on ln T over [ln 0.05, ln 20]
// (the NLL is convex in 1/T, hence unimodal in ln T). 1 for no sample. std::invalid_argument
// when the sizes disagree.
double fit_temperature(const std::vector<float>& logits, int64_t classes,
                       const std::vector<int>& labels);

// Expected calibration error of softmax(logits / temperature) (pixel-major, as above).
double logits_calibration_error(const std::vector<float>& logits, int64_t classes,
                                const std::vector<int>& labels, double temperature,
                                int bins = CalibrationAccumulator::kDefaultBins);

}  // namespace sarseg::eval
