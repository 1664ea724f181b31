#include "sarseg/eval/metrics.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "sarseg/util/error.h"

namespace sarseg::eval {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(double numerator, double denominator) {
  return denominator > 0 ? numerator / denominator : 0.0;  // zero_division = 0
}
}  // namespace

ConfusionMatrix::ConfusionMatrix(int num_classes)
    : num_classes_(num_classes),
      counts_(static_cast<size_t>(num_classes) * static_cast<size_t>(num_classes), 0) {
  if (num_classes <= 0 || num_classes > 255)
    throw std::invalid_argument("ConfusionMatrix: number of classes must be 1..255, got " +
                                std::to_string(num_classes));
}

void ConfusionMatrix::add(const uint8_t* truth, const uint8_t* prediction, const uint8_t* valid,
                          size_t n, std::string_view where, int ignored_label) {
  const int k = num_classes_;
  for (size_t i = 0; i < n; ++i) {
    const int t = truth[i];
    const int p = prediction[i];
    if (t == kIgnoreLabel || t == ignored_label || p == kIgnoreLabel ||
        (valid != nullptr && valid[i] == 0))
      continue;
    if (t >= k)
      throw UserError(std::string(where) + ": label value " + std::to_string(t) + " at pixel " +
                      std::to_string(i) + " is beyond the model's " + std::to_string(k) +
                      " classes (0.." + std::to_string(k - 1) +
                      ", 255 = no label); relabel the scene or use a checkpoint with more classes");
    if (p >= k)
      throw std::logic_error("prediction " + std::to_string(p) + " beyond " + std::to_string(k) +
                             " classes");
    ++counts_[static_cast<size_t>(t * k + p)];
  }
}

void ConfusionMatrix::add(int truth, int prediction, int64_t count) {
  if (truth < 0 || truth >= num_classes_ || prediction < 0 || prediction >= num_classes_)
    throw std::out_of_range("ConfusionMatrix::add: class out of range");
  counts_[static_cast<size_t>(truth * num_classes_ + prediction)] += count;
}

void ConfusionMatrix::merge(const ConfusionMatrix& other) {
  if (other.num_classes_ == 0) return;
  if (num_classes_ == 0) {
    *this = other;
    return;
  }
  if (other.num_classes_ != num_classes_)
    throw std::invalid_argument("ConfusionMatrix::merge: " + std::to_string(num_classes_) + " vs " +
                                std::to_string(other.num_classes_) + " classes");
  for (size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
}

int64_t ConfusionMatrix::total() const {
  int64_t sum = 0;
  for (int64_t c : counts_)
    sum += c;
  return sum;
}

int64_t ConfusionMatrix::truth_count(int label) const {
  int64_t sum = 0;
  for (int p = 0; p < num_classes_; ++p)
    sum += at(label, p);
  return sum;
}

int64_t ConfusionMatrix::predicted_count(int label) const {
  int64_t sum = 0;
  for (int t = 0; t < num_classes_; ++t)
    sum += at(t, label);
  return sum;
}

ClassificationMetrics compute_metrics(const ConfusionMatrix& confusion) {
  ClassificationMetrics m;
  const int k = confusion.num_classes();
  m.num_classes = k;
  m.pixels = confusion.total();
  m.confusion.assign(static_cast<size_t>(k), std::vector<int64_t>(static_cast<size_t>(k), 0));
  m.confusion_row_norm.assign(static_cast<size_t>(k),
                              std::vector<double>(static_cast<size_t>(k), 0));
  int64_t correct = 0;
  for (int t = 0; t < k; ++t) {
    const int64_t row = confusion.truth_count(t);
    for (int p = 0; p < k; ++p) {
      m.confusion[t][p] = confusion.at(t, p);
      m.confusion_row_norm[t][p] = ratio(static_cast<double>(confusion.at(t, p)), row);
    }
    correct += confusion.at(t, t);
  }

  int present = 0;
  for (int c = 0; c < k; ++c) {
    ClassScores s;
    s.label = c;
    s.support = confusion.truth_count(c);
    s.predicted = confusion.predicted_count(c);
    s.present = s.support > 0 || s.predicted > 0;
    const double tp = static_cast<double>(confusion.at(c, c));
    const double fp = static_cast<double>(s.predicted) - tp;
    const double fn = static_cast<double>(s.support) - tp;
    s.precision = ratio(tp, tp + fp);
    s.recall = ratio(tp, tp + fn);
    s.f1 = ratio(2 * s.precision * s.recall, s.precision + s.recall);
    s.iou = ratio(tp, tp + fp + fn);
    m.classes.push_back(s);
    if (!s.present) continue;
    ++present;
    m.macro_precision += s.precision;
    m.macro_recall += s.recall;
    m.macro_f1 += s.f1;
    m.macro_iou += s.iou;
    const double w = static_cast<double>(s.support);
    m.weighted_precision += w * s.precision;
    m.weighted_recall += w * s.recall;
    m.weighted_f1 += w * s.f1;
    m.weighted_iou += w * s.iou;
  }

  if (m.pixels == 0) {
    m.accuracy = m.macro_precision = m.macro_recall = m.macro_f1 = m.macro_iou = kNaN;
    m.weighted_precision = m.weighted_recall = m.weighted_f1 = m.weighted_iou = kNaN;
    m.r2 = kNaN;
    return m;
  }
  const double n = static_cast<double>(m.pixels);
  m.accuracy = static_cast<double>(correct) / n;
  m.macro_precision /= present;
  m.macro_recall /= present;
  m.macro_f1 /= present;
  m.macro_iou /= present;
  m.weighted_precision /= n;
  m.weighted_recall /= n;
  m.weighted_f1 /= n;
  m.weighted_iou /= n;
  m.r2 = r2_from_confusion(confusion);
  return m;
}

void R2Accumulator::add(double truth, double prediction, int64_t count) {
  if (count <= 0) return;
  const double c = static_cast<double>(count);
  sum_sq_error_ += c * (truth - prediction) * (truth - prediction);
  // Chan et al.'s pairwise update of the mean and the sum of squared deviations: stable where
  // sum(t^2) - sum(t)^2 / n would cancel catastrophically over hundreds of millions of pixels.
  const double n = static_cast<double>(count_);
  const double total = n + c;
  const double delta = truth - mean_truth_;
  mean_truth_ += delta * c / total;
  truth_m2_ += delta * delta * n * c / total;
  count_ += count;
}

void R2Accumulator::merge(const R2Accumulator& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  const double na = static_cast<double>(count_);
  const double nb = static_cast<double>(other.count_);
  const double total = na + nb;
  const double delta = other.mean_truth_ - mean_truth_;
  mean_truth_ += delta * nb / total;
  truth_m2_ += other.truth_m2_ + delta * delta * na * nb / total;
  sum_sq_error_ += other.sum_sq_error_;
  count_ += other.count_;
}

double R2Accumulator::value() const {
  if (count_ < 2) return kNaN;
  const double ss_tot = truth_m2_;
  if (ss_tot == 0) return sum_sq_error_ == 0 ? 1.0 : 0.0;
  return 1.0 - sum_sq_error_ / ss_tot;
}

double r2_from_confusion(const ConfusionMatrix& confusion) {
  R2Accumulator r2;
  for (int t = 0; t < confusion.num_classes(); ++t)
    for (int p = 0; p < confusion.num_classes(); ++p)
      r2.add(t, p, confusion.at(t, p));
  return r2.value();
}

double round_to(double value, int decimals) {
  if (!std::isfinite(value)) return value;
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

AutoIceScore autoice_score(double sic_r2, double sod_weighted_f1, double floe_weighted_f1) {
  AutoIceScore s;
  s.sic = round_to(100.0 * sic_r2, 3);
  s.sod = round_to(100.0 * sod_weighted_f1, 3);
  s.floe = round_to(100.0 * floe_weighted_f1, 3);
  s.combined = round_to((2 * s.sic + 2 * s.sod + s.floe) / 5.0, 3);
  return s;
}

}  // namespace sarseg::eval
