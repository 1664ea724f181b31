// Segmentation metrics on class maps (no torch): confusion matrices, per-class and averaged
// scores, SIC R2 and the AutoICE combined score.
//
// Conventions (those of scikit-learn, which the paper's `evaluate.py` and the AutoICE scorer use):
//   - Only pixels whose truth is not the ignore value (255) and that are valid in the input are
//     counted; a prediction of 255 (no prediction) at such a pixel is skipped too.
//   - Per-class precision, recall, F1 and IoU use zero_division = 0 (a score whose denominator
//     is 0 is 0).
//   - Averages run over the labels present in the truth OR the prediction (sklearn's
//     `unique_labels(y_true, y_pred)`, as classification_report and jaccard_score use by default).
//     A class absent from both does not enter the macro average. Weighted averages weigh each
//     class by its support in the truth, so classes absent from the truth weigh 0.
//   - R2 follows sklearn's r2_score (force_finite): 1 - SS_res / SS_tot; when the truth is
//     constant the score is 1 for a perfect prediction and 0 otherwise; NaN below two pixels.
//   - With no counted pixel (an all-masked scene) every score is NaN (JSON null, Markdown "-").
//   - Pooling (per season, all scenes) sums confusion matrices, which is what sklearn gives on
//     the concatenated pixels of those scenes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sarseg::eval {

inline constexpr uint8_t kIgnoreLabel = 255;

// Counts of (truth, prediction) pairs for `num_classes` classes: rows = truth, columns =
// prediction.
class ConfusionMatrix {
 public:
  ConfusionMatrix() = default;
  explicit ConfusionMatrix(int num_classes);

  int num_classes() const { return num_classes_; }
  // Adds `n` pixels. `valid` may be null (all valid). Pixels with truth 255 or `ignored_label`
  // (-1 = none), prediction 255 or valid 0 are skipped. A truth value >= num_classes is a
  // UserError that names `where` and the pixel index; a prediction >= num_classes is an internal
  // error (std::logic_error).
  void add(const uint8_t* truth, const uint8_t* prediction, const uint8_t* valid, size_t n,
           std::string_view where = "labels", int ignored_label = -1);
  void add(int truth, int prediction, int64_t count = 1);
  // Sums another matrix of the same size into this one (an empty one adopts its size).
  void merge(const ConfusionMatrix& other);

  int64_t at(int truth, int prediction) const {
    return counts_[static_cast<size_t>(truth * num_classes_ + prediction)];
  }
  int64_t total() const;
  int64_t truth_count(int label) const;      // support
  int64_t predicted_count(int label) const;  // column sum
  const std::vector<int64_t>& counts() const { return counts_; }

 private:
  int num_classes_ = 0;
  std::vector<int64_t> counts_;
};

struct ClassScores {
  int label = 0;
  int64_t support = 0;    // pixels of this class in the truth
  int64_t predicted = 0;  // pixels predicted as this class
  bool present = false;   // in the truth or the prediction (enters the macro average)
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  double iou = 0;
};

struct ClassificationMetrics {
  int num_classes = 0;
  int64_t pixels = 0;  // counted pixels
  double accuracy = 0;
  std::vector<ClassScores> classes;  // one per class 0..num_classes-1
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0, macro_iou = 0;
  double weighted_precision = 0, weighted_recall = 0, weighted_f1 = 0, weighted_iou = 0;
  std::vector<std::vector<int64_t>> confusion;          // [truth][prediction]
  std::vector<std::vector<double>> confusion_row_norm;  // rows sum to 1 (0 for empty rows)
  double r2 = 0;  // sklearn r2_score on the class indices (the AutoICE SIC score)
};

ClassificationMetrics compute_metrics(const ConfusionMatrix& confusion);

// sklearn r2_score, accumulated so that scenes can be pooled.
class R2Accumulator {
 public:
  void add(double truth, double prediction, int64_t count = 1);
  void merge(const R2Accumulator& other);
  int64_t count() const { return count_; }
  double value() const;

 private:
  int64_t count_ = 0;
  double mean_truth_ = 0;
  double truth_m2_ = 0;  // sum of squared deviations from the mean
  double sum_sq_error_ = 0;
};

// R2 of the class indices held in a confusion matrix.
double r2_from_confusion(const ConfusionMatrix& confusion);

// AutoICE scores in percent, each rounded to 3 decimals as the challenge scorer does; the
// combined score (2 SIC + 2 SOD + FLOE) / 5 is taken from the rounded scores and rounded again.
struct AutoIceScore {
  double sic = 0;   // 100 * R2 of SIC classes
  double sod = 0;   // 100 * weighted F1 of SOD
  double floe = 0;  // 100 * weighted F1 of FLOE
  double combined = 0;
};
AutoIceScore autoice_score(double sic_r2, double sod_weighted_f1, double floe_weighted_f1);

// Rounds to `decimals` decimal places (half away from zero); NaN stays NaN.
double round_to(double value, int decimals);

}  // namespace sarseg::eval
