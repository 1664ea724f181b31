// Small-sample statistics for the experiment: spread over seeds and paired tests between arms.
//
// Every test here is exact (full enumeration of the null distribution), which is what a handful
// of seeds calls for; no normal approximation is used for any n.
//
// Zero and tied differences (the documented rule):
//   - a paired difference whose absolute value is <= `zero_tolerance` counts as a tie and is
//     dropped before testing (Wilcoxon's original rule; the sign test does the same), so n in the
//     results is the number of non-zero differences;
//   - tied absolute values in the signed-rank test get the average of their ranks, and the exact
//     null distribution is enumerated over those mid-ranks (conditional permutation test);
//   - with no non-zero difference left, p = 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sarseg::experiment {

struct Spread {
  int64_t count = 0;  // values that entered (non-finite values are skipped)
  double median = 0;  // mean of the two middle values for even counts
  double min = 0;
  double max = 0;
};

// NaN values are ignored; count 0 gives all fields 0 (check count).
Spread spread_of(const std::vector<double>& values);
double median_of(std::vector<double> values);

struct PairedComparison {
  std::vector<double> differences;  // a[i] - b[i] per pair (seed order)
  Spread spread;                    // of the differences
  int64_t positive = 0;             // differences > tolerance
  int64_t negative = 0;             // differences < -tolerance
  int64_t ties = 0;                 // |difference| <= tolerance (dropped by the tests)
  double sign_test_p = 1;           // exact two-sided binomial sign test
  double wilcoxon_p = 1;            // exact two-sided Wilcoxon signed-rank test
  double wilcoxon_w_plus = 0;       // sum of ranks of the positive differences
  // Smallest two-sided p-value the sign test could reach with this many non-zero pairs (all
  // pairs in one direction): shows when n is too small to ever reach significance.
  double smallest_attainable_p = 1;
};

// Paired differences a - b, pairs with a NaN on either side are skipped. Sizes must match.
PairedComparison compare_paired(const std::vector<double>& a, const std::vector<double>& b,
                                double zero_tolerance = 0.0);

// Exact two-sided sign test: `positive` and `negative` counts, ties already removed.
double sign_test_p_value(int64_t positive, int64_t negative);

// Exact two-sided Wilcoxon signed-rank p-value for the given differences (ties/zeros per the
// rule above). Also returns W+ through `w_plus` when not null.
double wilcoxon_signed_rank_p_value(const std::vector<double>& differences,
                                    double zero_tolerance = 0.0, double* w_plus = nullptr);

}  // namespace sarseg::experiment
