// Metric code on hand-computed cases (values worked out by hand with sklearn's conventions).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sarseg/eval/metrics.h"
#include "sarseg/eval/report.h"
#include "sarseg/util/error.h"

namespace sarseg::eval {
namespace {

// truth/pred with one ignored pixel (truth 255); class 3 only in the prediction.
const std::vector<uint8_t> kTruth = {0, 0, 0, 1, 1, 2, 255, 2};
const std::vector<uint8_t> kPred = {0, 0, 1, 1, 0, 2, 3, 3};

ConfusionMatrix hand_case(int classes) {
  ConfusionMatrix cm(classes);
  cm.add(kTruth.data(), kPred.data(), nullptr, kTruth.size());
  return cm;
}

TEST(ConfusionMatrix, CountsValidPixelsAndSkipsIgnoreValue) {
  const auto cm = hand_case(4);
  EXPECT_EQ(cm.total(), 7);
  EXPECT_EQ(cm.at(0, 0), 2);
  EXPECT_EQ(cm.at(0, 1), 1);
  EXPECT_EQ(cm.at(1, 0), 1);
  EXPECT_EQ(cm.at(1, 1), 1);
  EXPECT_EQ(cm.at(2, 2), 1);
  EXPECT_EQ(cm.at(2, 3), 1);
  EXPECT_EQ(cm.truth_count(3), 0);
  EXPECT_EQ(cm.predicted_count(3), 1);
}

TEST(ConfusionMatrix, SkipsPixelsInvalidInInputAndUnpredictedPixels) {
  const std::vector<uint8_t> truth = {0, 1, 1, 2};
  const std::vector<uint8_t> pred = {0, 0, 255, 2};
  const std::vector<uint8_t> valid = {1, 0, 1, 1};
  ConfusionMatrix cm(3);
  cm.add(truth.data(), pred.data(), valid.data(), truth.size());
  EXPECT_EQ(cm.total(), 2);  // pixel 1 invalid input, pixel 2 not predicted
  EXPECT_EQ(cm.at(0, 0), 1);
  EXPECT_EQ(cm.at(2, 2), 1);
}

TEST(ConfusionMatrix, LabelBeyondClassesIsAUserErrorNamingWhere) {
  const std::vector<uint8_t> truth = {0, 7};
  const std::vector<uint8_t> pred = {0, 0};
  ConfusionMatrix cm(4);
  try {
    cm.add(truth.data(), pred.data(), nullptr, 2, "scene.nc label SOD");
    FAIL() << "no error";
  } catch (const UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("scene.nc label SOD"), std::string::npos) << message;
    EXPECT_NE(message.find("label value 7"), std::string::npos) << message;
  }
}

TEST(Metrics, HandComputedPerClassScores) {
  const auto m = compute_metrics(hand_case(4));
  EXPECT_EQ(m.pixels, 7);
  EXPECT_NEAR(m.accuracy, 4.0 / 7, 1e-12);
  // class 0: tp 2, support 3, predicted 3
  EXPECT_NEAR(m.classes[0].precision, 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.classes[0].recall, 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.classes[0].f1, 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.classes[0].iou, 0.5, 1e-12);
  // class 1: tp 1, support 2, predicted 2
  EXPECT_NEAR(m.classes[1].f1, 0.5, 1e-12);
  EXPECT_NEAR(m.classes[1].iou, 1.0 / 3, 1e-12);
  // class 2: tp 1, support 2, predicted 1
  EXPECT_NEAR(m.classes[2].precision, 1.0, 1e-12);
  EXPECT_NEAR(m.classes[2].recall, 0.5, 1e-12);
  EXPECT_NEAR(m.classes[2].f1, 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.classes[2].iou, 0.5, 1e-12);
  // class 3: absent from the truth, predicted once: zero_division = 0, but present
  EXPECT_TRUE(m.classes[3].present);
  EXPECT_EQ(m.classes[3].support, 0);
  EXPECT_EQ(m.classes[3].precision, 0.0);
  EXPECT_EQ(m.classes[3].recall, 0.0);
  EXPECT_EQ(m.classes[3].f1, 0.0);
}

TEST(Metrics, MacroAndWeightedAveragesFollowSklearn) {
  const auto m = compute_metrics(hand_case(4));
  // sklearn classification_report(y_true, y_pred): labels 0..3 (3 from the prediction).
  EXPECT_NEAR(m.macro_precision, 13.0 / 24, 1e-12);
  EXPECT_NEAR(m.macro_recall, 5.0 / 12, 1e-12);
  EXPECT_NEAR(m.macro_f1, 11.0 / 24, 1e-12);
  EXPECT_NEAR(m.macro_iou, 1.0 / 3, 1e-12);
  EXPECT_NEAR(m.weighted_precision, 5.0 / 7, 1e-12);
  EXPECT_NEAR(m.weighted_recall, 4.0 / 7, 1e-12);  // always the accuracy
  EXPECT_NEAR(m.weighted_f1, 13.0 / 21, 1e-12);
  EXPECT_NEAR(m.weighted_iou, 19.0 / 42, 1e-12);
}

TEST(Metrics, ClassAbsentFromTruthAndPredictionIsLeftOutOfMacro) {
  const auto four = compute_metrics(hand_case(4));
  const auto six = compute_metrics(hand_case(6));  // classes 4 and 5 never occur
  EXPECT_FALSE(six.classes[4].present);
  EXPECT_FALSE(six.classes[5].present);
  EXPECT_DOUBLE_EQ(six.macro_f1, four.macro_f1);
  EXPECT_DOUBLE_EQ(six.macro_iou, four.macro_iou);
  EXPECT_DOUBLE_EQ(six.weighted_f1, four.weighted_f1);
}

TEST(Metrics, ClassAbsentFromPredictionScoresZero) {
  const std::vector<uint8_t> truth = {0, 0, 1, 1};
  const std::vector<uint8_t> pred = {0, 0, 0, 0};
  ConfusionMatrix cm(2);
  cm.add(truth.data(), pred.data(), nullptr, 4);
  const auto m = compute_metrics(cm);
  EXPECT_EQ(m.classes[1].precision, 0.0);
  EXPECT_EQ(m.classes[1].f1, 0.0);
  EXPECT_NEAR(m.classes[0].f1, 2 * 0.5 * 1.0 / 1.5, 1e-12);
  EXPECT_NEAR(m.macro_f1, (2.0 / 3) / 2, 1e-12);
  EXPECT_NEAR(m.weighted_f1, (2 * 2.0 / 3) / 4, 1e-12);
}

TEST(Metrics, RowNormalisedConfusion) {
  const auto m = compute_metrics(hand_case(4));
  EXPECT_NEAR(m.confusion_row_norm[0][0], 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.confusion_row_norm[0][1], 1.0 / 3, 1e-12);
  EXPECT_NEAR(m.confusion_row_norm[2][3], 0.5, 1e-12);
  EXPECT_EQ(m.confusion_row_norm[3][3], 0.0);  // empty truth row
  EXPECT_EQ(m.confusion[2][3], 1);
}

TEST(Metrics, AllMaskedSceneGivesNaNNotZero) {
  const std::vector<uint8_t> truth = {255, 255, 1};
  const std::vector<uint8_t> pred = {0, 1, 1};
  const std::vector<uint8_t> valid = {1, 1, 0};
  ConfusionMatrix cm(3);
  cm.add(truth.data(), pred.data(), valid.data(), 3);
  const auto m = compute_metrics(cm);
  EXPECT_EQ(m.pixels, 0);
  EXPECT_TRUE(std::isnan(m.accuracy));
  EXPECT_TRUE(std::isnan(m.weighted_f1));
  EXPECT_TRUE(std::isnan(m.macro_iou));
  EXPECT_TRUE(std::isnan(m.r2));
  const auto j = metrics_to_json(m);
  EXPECT_TRUE(j["accuracy"].is_null());
  EXPECT_TRUE(j["weighted"]["f1"].is_null());
}

TEST(Metrics, R2OnClassIndices) {
  // t = 0 0 0 1 1 2 2, p = 0 0 1 1 0 2 3: SS_res = 3, SS_tot = 238/49.
  EXPECT_NEAR(compute_metrics(hand_case(4)).r2, 91.0 / 238, 1e-12);
  R2Accumulator constant;
  constant.add(2, 2, 5);
  EXPECT_EQ(constant.value(), 1.0);  // constant truth, perfect prediction
  constant.add(2, 3);
  EXPECT_EQ(constant.value(), 0.0);  // constant truth, imperfect prediction (sklearn force_finite)
  R2Accumulator single;
  single.add(1, 0);
  EXPECT_TRUE(std::isnan(single.value()));
}

TEST(Metrics, R2PoolsLikeConcatenation) {
  R2Accumulator a, b, all;
  const double ta[] = {0, 3, 5, 10}, pa[] = {1, 3, 4, 9};
  const double tb[] = {10, 10, 7}, pb[] = {10, 8, 7};
  for (int i = 0; i < 4; ++i) {
    a.add(ta[i], pa[i]);
    all.add(ta[i], pa[i]);
  }
  for (int i = 0; i < 3; ++i) {
    b.add(tb[i], pb[i]);
    all.add(tb[i], pb[i]);
  }
  a.merge(b);
  EXPECT_NEAR(a.value(), all.value(), 1e-12);
  // By hand: mean 45/7, SS_res = 1+0+1+1+0+4+0 = 7, SS_tot = sum t^2 - 45^2/7 = 383 - 2025/7.
  EXPECT_NEAR(all.value(), 1 - 7 / (383 - 2025.0 / 7), 1e-12);
}

TEST(Metrics, AutoIceCombinedScore) {
  const auto s = autoice_score(0.9, 0.8, 0.7);
  EXPECT_DOUBLE_EQ(s.sic, 90.0);
  EXPECT_DOUBLE_EQ(s.sod, 80.0);
  EXPECT_DOUBLE_EQ(s.floe, 70.0);
  EXPECT_DOUBLE_EQ(s.combined, 82.0);
  const auto r = autoice_score(0.1234567, 0.5, 0.25);
  EXPECT_DOUBLE_EQ(r.sic, 12.346);
  EXPECT_DOUBLE_EQ(r.combined, round_to((2 * 12.346 + 2 * 50.0 + 25.0) / 5, 3));
}

TEST(Report, PerSeasonAndPooledSumConfusionMatrices) {
  EvaluationAccumulator acc({"SIC", "SOD", "FLOE"});
  auto make = [](std::vector<uint8_t> t, std::vector<uint8_t> p, int k) {
    ConfusionMatrix cm(k);
    cm.add(t.data(), p.data(), nullptr, t.size());
    return cm;
  };
  acc.add_scene(
      "a", io::Season::kWinter,
      {make({0, 5, 10}, {0, 5, 9}, 11), make({0, 1, 1}, {0, 1, 0}, 6), make({0, 2}, {0, 2}, 7)});
  acc.add_scene("b", io::Season::kMelt,
                {make({10, 10}, {10, 10}, 11), make({3, 3}, {3, 2}, 6), make({1, 1}, {1, 0}, 7)});
  acc.add_scene("c", io::Season::kWinter,
                {make({255}, {3}, 11), make({255}, {3}, 6), make({255}, {3}, 7)});  // all masked
  const auto report = acc.report();
  ASSERT_EQ(report.scenes.size(), 3u);
  ASSERT_EQ(report.seasons.size(), 2u);
  EXPECT_EQ(report.seasons[0].name, "winter");
  EXPECT_EQ(report.seasons[0].scenes, 2);
  EXPECT_EQ(report.seasons[1].name, "melt");
  EXPECT_EQ(report.pooled.scenes, 3);
  EXPECT_EQ(report.scenes[2].heads[1].metrics.pixels, 0);
  // Pooled SOD = sklearn on the concatenation t = 0 1 1 3 3, p = 0 1 0 3 2.
  const auto concatenated = make({0, 1, 1, 3, 3}, {0, 1, 0, 3, 2}, 6);
  EXPECT_DOUBLE_EQ(report.pooled.heads[1].metrics.weighted_f1,
                   compute_metrics(concatenated).weighted_f1);
  ASSERT_TRUE(report.pooled.autoice.has_value());
  const auto expected =
      autoice_score(report.pooled.heads[0].metrics.r2, report.pooled.heads[1].metrics.weighted_f1,
                    report.pooled.heads[2].metrics.weighted_f1);
  EXPECT_DOUBLE_EQ(report.pooled.autoice->combined, expected.combined);

  const auto j = to_json(report);
  EXPECT_EQ(j["scenes"].size(), 3u);
  EXPECT_TRUE(j["scenes"][2]["heads"]["SOD"]["accuracy"].is_null());
  EXPECT_EQ(j["pooled"]["heads"]["SOD"]["pixels"], 5);
  const std::string md = to_markdown(report);
  EXPECT_NE(md.find("| season | melt | melt | SOD | 2 |"), std::string::npos) << md;
  EXPECT_NE(md.find("AutoICE"), std::string::npos);
}

}  // namespace
}  // namespace sarseg::eval
