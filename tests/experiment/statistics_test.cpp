// Statistics against hand-computed values (the exact null distributions are small enough to
// write out by hand for n <= 5; the Darwin data set is the textbook Wilcoxon example).
#include "sarseg/experiment/statistics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sarseg::experiment {
namespace {

TEST(Spread, MedianMinMaxSkipNaN) {
  const Spread odd = spread_of({3.0, 1.0, 2.0});
  EXPECT_EQ(odd.count, 3);
  EXPECT_DOUBLE_EQ(odd.median, 2.0);
  EXPECT_DOUBLE_EQ(odd.min, 1.0);
  EXPECT_DOUBLE_EQ(odd.max, 3.0);
  const Spread even = spread_of({4.0, 1.0, NAN, 2.0, 10.0});
  EXPECT_EQ(even.count, 4);
  EXPECT_DOUBLE_EQ(even.median, 3.0);
  EXPECT_DOUBLE_EQ(even.max, 10.0);
  EXPECT_EQ(spread_of({}).count, 0);
}

TEST(SignTest, ExactBinomialTwoSided) {
  EXPECT_DOUBLE_EQ(sign_test_p_value(5, 0), 2.0 / 32);          // all five one way
  EXPECT_DOUBLE_EQ(sign_test_p_value(0, 5), 2.0 / 32);          // symmetric
  EXPECT_DOUBLE_EQ(sign_test_p_value(3, 0), 2.0 / 8);           // three seeds: never < 0.25
  EXPECT_DOUBLE_EQ(sign_test_p_value(4, 1), 2.0 * 6 / 32);      // 2 (C(5,0)+C(5,1)) / 2^5
  EXPECT_DOUBLE_EQ(sign_test_p_value(10, 2), 2.0 * 79 / 4096);  // 2 (1+12+66) / 2^12
  EXPECT_DOUBLE_EQ(sign_test_p_value(2, 2), 1.0);
  EXPECT_DOUBLE_EQ(sign_test_p_value(0, 0), 1.0);
}

TEST(Wilcoxon, AllPositiveFivePairs) {
  double w_plus = 0;
  EXPECT_NEAR(wilcoxon_signed_rank_p_value({1, 2, 3, 4, 5}, 0.0, &w_plus), 2.0 / 32, 1e-12);
  EXPECT_DOUBLE_EQ(w_plus, 15.0);
}

TEST(Wilcoxon, OneNegativeAmongFive) {
  // W+ = 13; P(W+ >= 13) = P(W+ <= 2) = 3/32 for n = 5, so p = 6/32.
  double w_plus = 0;
  EXPECT_NEAR(wilcoxon_signed_rank_p_value({1, -2, 3, 4, 5}, 0.0, &w_plus), 6.0 / 32, 1e-12);
  EXPECT_DOUBLE_EQ(w_plus, 13.0);
}

TEST(Wilcoxon, DarwinDataMatchesTextbookExactValue) {
  // Fisher's Zea mays differences: W- = 24, exact two-sided p = 1352 / 32768.
  const std::vector<double> d = {6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75};
  double w_plus = 0;
  EXPECT_NEAR(wilcoxon_signed_rank_p_value(d, 0.0, &w_plus), 1352.0 / 32768, 1e-12);
  EXPECT_DOUBLE_EQ(w_plus, 120.0 - 24.0);
}

TEST(Wilcoxon, ZerosDroppedTiesGetMidRanks) {
  // Zero dropped; |1| x3 share ranks 1..3 (mid-rank 2), |2| has rank 4. W+ = 2 + 2 + 4 = 8.
  // Subset sums of {2,2,2,4} (16 equally likely) at distance >= 3 from the centre 5:
  // sums 0 (1 way), 2 (3), 8 (3), 10 (1) -> p = 8 / 16.
  double w_plus = 0;
  EXPECT_NEAR(wilcoxon_signed_rank_p_value({1, 1, -1, 2, 0}, 0.0, &w_plus), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(w_plus, 8.0);
  EXPECT_DOUBLE_EQ(wilcoxon_signed_rank_p_value({0, 0}), 1.0);
}

TEST(Wilcoxon, ToleranceTurnsTinyDifferencesIntoTies) {
  EXPECT_NEAR(wilcoxon_signed_rank_p_value({1e-9, 1, 2, 3, 4, 5}, 1e-6), 2.0 / 32, 1e-12);
}

TEST(Paired, DifferencesCountsAndPValues) {
  const PairedComparison c =
      compare_paired({0.9, 0.8, 0.85, 0.7, NAN}, {0.8, 0.8, 0.80, 0.75, 0.1}, 1e-9);
  ASSERT_EQ(c.differences.size(), 4u);
  EXPECT_NEAR(c.differences[0], 0.1, 1e-12);
  EXPECT_EQ(c.positive, 2);
  EXPECT_EQ(c.negative, 1);
  EXPECT_EQ(c.ties, 1);
  EXPECT_DOUBLE_EQ(c.sign_test_p, 1.0);             // 2 vs 1 of 3
  EXPECT_DOUBLE_EQ(c.smallest_attainable_p, 0.25);  // 3 non-zero pairs
  EXPECT_NEAR(c.spread.median, 0.025, 1e-12);
  EXPECT_THROW(compare_paired({1.0}, {1.0, 2.0}), std::invalid_argument);
}

}  // namespace
}  // namespace sarseg::experiment
