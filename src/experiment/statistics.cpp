#include "sarseg/experiment/statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace sarseg::experiment {

double median_of(std::vector<double> values) {
  values.erase(
      std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
      values.end());
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

Spread spread_of(const std::vector<double>& values) {
  Spread spread;
  std::vector<double> finite;
  for (double v : values)
    if (std::isfinite(v)) finite.push_back(v);
  spread.count = static_cast<int64_t>(finite.size());
  if (finite.empty()) return spread;
  spread.median = median_of(finite);
  spread.min = *std::min_element(finite.begin(), finite.end());
  spread.max = *std::max_element(finite.begin(), finite.end());
  return spread;
}

double sign_test_p_value(int64_t positive, int64_t negative) {
  const int64_t n = positive + negative;
  if (n <= 0) return 1.0;
  const int64_t k = std::min(positive, negative);
  // Sum of C(n, i) / 2^n for i <= k. Binomial coefficients are built multiplicatively (exact in
  // double for the seed counts an experiment has) and scaled by 2^-n at the end.
  double coefficient = 1.0;
  double sum = 0.0;
  for (int64_t i = 0; i <= k; ++i) {
    sum += coefficient;
    coefficient = coefficient * static_cast<double>(n - i) / static_cast<double>(i + 1);
  }
  const double tail = std::ldexp(sum, -static_cast<int>(std::min<int64_t>(n, 100000)));
  return std::min(1.0, 2.0 * tail);
}

double wilcoxon_signed_rank_p_value(const std::vector<double>& differences, double zero_tolerance,
                                    double* w_plus) {
  std::vector<double> nonzero;
  for (double d : differences)
    if (std::isfinite(d) && std::abs(d) > zero_tolerance) nonzero.push_back(d);
  const size_t n = nonzero.size();
  if (w_plus) *w_plus = 0.0;
  if (n == 0) return 1.0;
  if (n > 1000) throw std::invalid_argument("wilcoxon_signed_rank_p_value: too many pairs");

  // Mid-ranks of |d|, stored doubled so they are integers (average of ranks i..j is (i+j)/2).
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return std::abs(nonzero[a]) < std::abs(nonzero[b]); });
  std::vector<int64_t> doubled_rank(n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && std::abs(nonzero[order[j + 1]]) == std::abs(nonzero[order[i]]))
      ++j;
    const int64_t doubled = static_cast<int64_t>(i + 1 + j + 1);  // 2 * average of ranks i+1..j+1
    for (size_t t = i; t <= j; ++t)
      doubled_rank[order[t]] = doubled;
    i = j + 1;
  }
  int64_t total = 0;
  int64_t observed = 0;
  for (size_t i = 0; i < n; ++i) {
    total += doubled_rank[i];
    if (nonzero[i] > 0) observed += doubled_rank[i];
  }
  if (w_plus) *w_plus = static_cast<double>(observed) / 2.0;

  // Null distribution of the (doubled) W+: each rank is positive with probability 1/2.
  // counts[s] / 2^n = P(2 W+ = s); probabilities are kept directly so n cannot overflow.
  std::vector<double> probability(static_cast<size_t>(total) + 1, 0.0);
  probability[0] = 1.0;
  int64_t reach = 0;
  for (size_t i = 0; i < n; ++i) {
    const int64_t r = doubled_rank[i];
    for (int64_t s = reach; s >= 0; --s) {
      const double p = probability[static_cast<size_t>(s)];
      if (p == 0.0) continue;
      probability[static_cast<size_t>(s + r)] += 0.5 * p;
      probability[static_cast<size_t>(s)] = 0.5 * p;
    }
    reach += r;
  }
  // Two-sided: outcomes at least as far from the centre (total / 2) as the observed one.
  // Everything is in doubled units: |2s - total| compares integers exactly.
  const int64_t observed_distance = std::abs(2 * observed - total);
  double p = 0.0;
  for (int64_t s = 0; s <= total; ++s)
    if (std::abs(2 * s - total) >= observed_distance) p += probability[static_cast<size_t>(s)];
  return std::min(1.0, p);
}

PairedComparison compare_paired(const std::vector<double>& a, const std::vector<double>& b,
                                double zero_tolerance) {
  if (a.size() != b.size())
    throw std::invalid_argument("compare_paired: the two arms have different numbers of values");
  PairedComparison result;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) continue;
    const double d = a[i] - b[i];
    result.differences.push_back(d);
    if (d > zero_tolerance)
      ++result.positive;
    else if (d < -zero_tolerance)
      ++result.negative;
    else
      ++result.ties;
  }
  result.spread = spread_of(result.differences);
  result.sign_test_p = sign_test_p_value(result.positive, result.negative);
  result.wilcoxon_p =
      wilcoxon_signed_rank_p_value(result.differences, zero_tolerance, &result.wilcoxon_w_plus);
  result.smallest_attainable_p = sign_test_p_value(result.positive + result.negative, 0);
  return result;
}

}  // namespace sarseg::experiment
