#include "sarseg/eval/uncertainty.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "sarseg/util/error.h"

namespace sarseg::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline double plogp(double p) {
  return p > 0 ? p * std::log(p) : 0.0;
}

int bin_of(double value, int bins) {
  const int b = static_cast<int>(std::floor(value * bins));
  return std::clamp(b, 0, bins - 1);
}

// Softmax of one pixel's logits / temperature into `out`; returns ln of the label's probability.
double softmax_row(const float* logits, int64_t classes, double temperature, int label,
                   std::vector<double>& out) {
  double top = -std::numeric_limits<double>::infinity();
  for (int64_t c = 0; c < classes; ++c)
    top = std::max(top, logits[c] / temperature);
  double sum = 0;
  for (int64_t c = 0; c < classes; ++c) {
    out[static_cast<size_t>(c)] = std::exp(logits[c] / temperature - top);
    sum += out[static_cast<size_t>(c)];
  }
  for (auto& p : out)
    p /= sum;
  return logits[label] / temperature - top - std::log(sum);
}

void check_logits(const std::vector<float>& logits, int64_t classes,
                  const std::vector<int>& labels) {
  if (classes < 1 || logits.size() != labels.size() * static_cast<size_t>(classes))
    throw std::invalid_argument("temperature fit: " + std::to_string(logits.size()) +
                                " logits for " + std::to_string(labels.size()) + " labels of " +
                                std::to_string(classes) + " classes");
  for (int label : labels)
    if (label < 0 || label >= classes)
      throw std::invalid_argument("temperature fit: label " + std::to_string(label) +
                                  " outside 0.." + std::to_string(classes - 1));
}

}  // namespace

double entropy(const float* probabilities, int64_t classes, int64_t stride) {
  double h = 0;
  for (int64_t c = 0; c < classes; ++c)
    h -= plogp(probabilities[c * stride]);
  return h;
}

void predictive_entropy(const float* probabilities, int64_t classes, int64_t pixels,
                        float* entropy_out) {
  for (int64_t i = 0; i < pixels; ++i)
    entropy_out[i] = static_cast<float>(entropy(probabilities + i, classes, pixels));
}

EnsembleAccumulator::EnsembleAccumulator(int64_t classes, int64_t pixels)
    : classes_(classes),
      pixels_(pixels),
      probability_sum_(static_cast<size_t>(classes * pixels), 0.0f),
      entropy_sum_(static_cast<size_t>(pixels), 0.0) {}

void EnsembleAccumulator::add_member(const float* probabilities) {
  const size_t n = probability_sum_.size();
  for (size_t k = 0; k < n; ++k)
    probability_sum_[k] += probabilities[k];
  for (int64_t i = 0; i < pixels_; ++i)
    entropy_sum_[static_cast<size_t>(i)] += entropy(probabilities + i, classes_, pixels_);
  ++members_;
}

void EnsembleAccumulator::finish(float* mean_out, float* information_out) const {
  if (members_ == 0) throw std::logic_error("EnsembleAccumulator::finish without a member");
  const float scale = 1.0f / static_cast<float>(members_);
  for (size_t k = 0; k < probability_sum_.size(); ++k)
    mean_out[k] = probability_sum_[k] * scale;
  for (int64_t i = 0; i < pixels_; ++i) {
    const double expected = entropy_sum_[static_cast<size_t>(i)] / static_cast<double>(members_);
    const double total = entropy(mean_out + i, classes_, pixels_);
    information_out[i] = static_cast<float>(std::max(0.0, total - expected));
  }
}

void ensemble_mean_and_information(const float* member_probabilities, int64_t members,
                                   int64_t classes, int64_t pixels, float* mean_out,
                                   float* information_out) {
  EnsembleAccumulator accumulator(classes, pixels);
  for (int64_t m = 0; m < members; ++m)
    accumulator.add_member(member_probabilities + m * classes * pixels);
  accumulator.finish(mean_out, information_out);
}

PixelUncertainty pixel_uncertainty(const std::vector<std::vector<float>>& member_probabilities) {
  if (member_probabilities.empty())
    throw std::invalid_argument("pixel_uncertainty: no member probabilities");
  const int64_t classes = static_cast<int64_t>(member_probabilities[0].size());
  std::vector<float> stacked;
  for (const auto& member : member_probabilities) {
    if (static_cast<int64_t>(member.size()) != classes)
      throw std::invalid_argument("pixel_uncertainty: members differ in their classes");
    stacked.insert(stacked.end(), member.begin(), member.end());
  }
  std::vector<float> mean(static_cast<size_t>(classes));
  float information = 0;
  ensemble_mean_and_information(stacked.data(), static_cast<int64_t>(member_probabilities.size()),
                                classes, 1, mean.data(), &information);
  return {entropy(mean.data(), classes), information};
}

// ---- calibration ---------------------------------------------------------------------------

CalibrationAccumulator::CalibrationAccumulator(int bins)
    : bins_(bins),
      bin_pixels_(static_cast<size_t>(bins), 0),
      bin_correct_(static_cast<size_t>(bins), 0),
      bin_confidence_sum_(static_cast<size_t>(bins), 0.0),
      entropy_correct_(kEntropyBins, 0),
      entropy_wrong_(kEntropyBins, 0) {
  if (bins < 1) throw std::invalid_argument("CalibrationAccumulator: bins must be >= 1");
}

void CalibrationAccumulator::add(double confidence, bool correct, double normalised_entropy) {
  const auto b = static_cast<size_t>(bin_of(confidence, bins_));
  ++bin_pixels_[b];
  bin_correct_[b] += correct ? 1 : 0;
  bin_confidence_sum_[b] += confidence;
  const auto e = static_cast<size_t>(bin_of(normalised_entropy, kEntropyBins));
  ++(correct ? entropy_correct_ : entropy_wrong_)[e];
  ++pixels_;
}

void CalibrationAccumulator::merge(const CalibrationAccumulator& other) {
  if (other.bins_ != bins_)
    throw std::invalid_argument("CalibrationAccumulator::merge: " + std::to_string(bins_) +
                                " bins vs " + std::to_string(other.bins_));
  for (size_t b = 0; b < bin_pixels_.size(); ++b) {
    bin_pixels_[b] += other.bin_pixels_[b];
    bin_correct_[b] += other.bin_correct_[b];
    bin_confidence_sum_[b] += other.bin_confidence_sum_[b];
  }
  for (size_t e = 0; e < entropy_correct_.size(); ++e) {
    entropy_correct_[e] += other.entropy_correct_[e];
    entropy_wrong_[e] += other.entropy_wrong_[e];
  }
  pixels_ += other.pixels_;
}

int64_t CalibrationAccumulator::errors() const {
  int64_t wrong = 0;
  for (auto n : entropy_wrong_)
    wrong += n;
  return wrong;
}

double CalibrationAccumulator::accuracy() const {
  if (pixels_ == 0) return kNaN;
  return 1.0 - static_cast<double>(errors()) / static_cast<double>(pixels_);
}

double CalibrationAccumulator::expected_calibration_error() const {
  if (pixels_ == 0) return kNaN;
  double ece = 0;
  for (size_t b = 0; b < bin_pixels_.size(); ++b) {
    if (bin_pixels_[b] == 0) continue;
    const double n = static_cast<double>(bin_pixels_[b]);
    ece += n / static_cast<double>(pixels_) *
           std::abs(static_cast<double>(bin_correct_[b]) / n - bin_confidence_sum_[b] / n);
  }
  return ece;
}

std::vector<ReliabilityBin> CalibrationAccumulator::reliability() const {
  std::vector<ReliabilityBin> result;
  for (int b = 0; b < bins_; ++b) {
    ReliabilityBin bin;
    bin.lower = static_cast<double>(b) / bins_;
    bin.upper = static_cast<double>(b + 1) / bins_;
    const auto k = static_cast<size_t>(b);
    bin.pixels = bin_pixels_[k];
    const double n = static_cast<double>(bin.pixels);
    bin.mean_confidence = bin.pixels ? bin_confidence_sum_[k] / n : kNaN;
    bin.accuracy = bin.pixels ? static_cast<double>(bin_correct_[k]) / n : kNaN;
    result.push_back(bin);
  }
  return result;
}

double CalibrationAccumulator::error_auroc() const {
  // Mann-Whitney U over the entropy histograms: for each wrong pixel, the correct pixels below
  // its bin count 1, those in its bin 1/2.
  const int64_t wrong = errors(), correct = pixels_ - wrong;
  if (wrong == 0 || correct == 0) return kNaN;
  double below = 0, u = 0;
  for (size_t e = 0; e < entropy_correct_.size(); ++e) {
    const double c = static_cast<double>(entropy_correct_[e]);
    u += static_cast<double>(entropy_wrong_[e]) * (below + 0.5 * c);
    below += c;
  }
  return u / (static_cast<double>(wrong) * static_cast<double>(correct));
}

nlohmann::json CalibrationAccumulator::to_json() const {
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  nlohmann::json j;
  j["pixels"] = pixels_;
  j["accuracy"] = number(accuracy());
  j["ece"] = number(expected_calibration_error());
  j["error_auroc"] = number(error_auroc());
  j["bin_pixels"] = bin_pixels_;
  j["bin_correct"] = bin_correct_;
  j["bin_confidence_sum"] = bin_confidence_sum_;
  j["entropy_correct"] = entropy_correct_;
  j["entropy_wrong"] = entropy_wrong_;
  return j;
}

CalibrationAccumulator CalibrationAccumulator::from_json(const nlohmann::json& j,
                                                         const std::string& where) {
  try {
    const auto bin_pixels = j.at("bin_pixels").get<std::vector<int64_t>>();
    CalibrationAccumulator result(static_cast<int>(bin_pixels.size()));
    result.bin_pixels_ = bin_pixels;
    result.bin_correct_ = j.at("bin_correct").get<std::vector<int64_t>>();
    result.bin_confidence_sum_ = j.at("bin_confidence_sum").get<std::vector<double>>();
    result.entropy_correct_ = j.at("entropy_correct").get<std::vector<int64_t>>();
    result.entropy_wrong_ = j.at("entropy_wrong").get<std::vector<int64_t>>();
    result.pixels_ = j.at("pixels").get<int64_t>();
    require(result.bin_correct_.size() == bin_pixels.size() &&
                result.bin_confidence_sum_.size() == bin_pixels.size() &&
                result.entropy_correct_.size() == kEntropyBins &&
                result.entropy_wrong_.size() == kEntropyBins,
            where + ": calibration counts of inconsistent sizes");
    return result;
  } catch (const nlohmann::json::exception& e) {
    throw UserError(where + ": malformed calibration record (" + e.what() + ")");
  }
}

void add_calibration_pixels(CalibrationAccumulator& accumulator,
                            const std::vector<const uint8_t*>& probabilities, const uint8_t* truth,
                            const uint8_t* prediction, const uint8_t* valid, size_t pixels,
                            int ignore_label) {
  const int64_t classes = static_cast<int64_t>(probabilities.size());
  if (classes < 2) return;
  const double max_entropy = std::log(static_cast<double>(classes));
  std::vector<float> p(static_cast<size_t>(classes));
  for (size_t i = 0; i < pixels; ++i) {
    if (valid && !valid[i]) continue;
    const uint8_t t = truth[i], k = prediction[i];
    if (t == 255 || static_cast<int>(t) == ignore_label || k == 255 || k >= classes) continue;
    bool usable = true;
    for (int64_t c = 0; c < classes; ++c) {
      const uint8_t v = probabilities[static_cast<size_t>(c)][i];
      usable = usable && v != 255;
      p[static_cast<size_t>(c)] = static_cast<float>(v) / 254.0f;
    }
    if (!usable) continue;
    accumulator.add(p[k], t == k, entropy(p.data(), classes) / max_entropy);
  }
}

// ---- temperature scaling -------------------------------------------------------------------

double negative_log_likelihood(const std::vector<float>& logits, int64_t classes,
                               const std::vector<int>& labels, double temperature) {
  check_logits(logits, classes, labels);
  if (labels.empty()) return kNaN;
  std::vector<double> p(static_cast<size_t>(classes));
  double sum = 0;
  for (size_t i = 0; i < labels.size(); ++i)
    sum -= softmax_row(logits.data() + i * static_cast<size_t>(classes), classes, temperature,
                       labels[i], p);
  return sum / static_cast<double>(labels.size());
}

double fit_temperature(const std::vector<float>& logits, int64_t classes,
                       const std::vector<int>& labels) {
  check_logits(logits, classes, labels);
  if (labels.empty()) return 1.0;
  auto nll = [&](double log_t) {
    return negative_log_likelihood(logits, classes, labels, std::exp(log_t));
  };
  const double golden = (std::sqrt(5.0) - 1) / 2;
  double a = std::log(0.05), b = std::log(20.0);
  double x1 = b - golden * (b - a), x2 = a + golden * (b - a);
  double f1 = nll(x1), f2 = nll(x2);
  while (b - a > 1e-4) {
    if (f1 < f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - golden * (b - a);
      f1 = nll(x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + golden * (b - a);
      f2 = nll(x2);
    }
  }
  return std::exp((a + b) / 2);
}

double logits_calibration_error(const std::vector<float>& logits, int64_t classes,
                                const std::vector<int>& labels, double temperature, int bins) {
  check_logits(logits, classes, labels);
  CalibrationAccumulator accumulator(bins);
  std::vector<double> p(static_cast<size_t>(classes));
  std::vector<float> pf(static_cast<size_t>(classes));
  const double max_entropy = std::log(std::max<double>(2, static_cast<double>(classes)));
  for (size_t i = 0; i < labels.size(); ++i) {
    softmax_row(logits.data() + i * static_cast<size_t>(classes), classes, temperature, labels[i],
                p);
    const auto top = std::max_element(p.begin(), p.end()) - p.begin();
    for (size_t c = 0; c < p.size(); ++c)
      pf[c] = static_cast<float>(p[c]);
    accumulator.add(p[static_cast<size_t>(top)], top == labels[i],
                    entropy(pf.data(), classes) / max_entropy);
  }
  return accumulator.expected_calibration_error();
}

}  // namespace sarseg::eval
