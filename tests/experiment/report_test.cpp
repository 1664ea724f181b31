// Analysis verdicts and the report files, from made-up summaries with known answers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "experiment/fake_summary.h"
#include "sarseg/experiment/analysis.h"
#include "sarseg/experiment/report.h"
#include "sarseg/util/atomic_file.h"
#include "support/test_support.h"

namespace sarseg::experiment {
namespace {

using testing::fake_summary;

const Verdict& verdict_for(const Analysis& a, const std::string& figure_key) {
  for (const auto& v : a.verdicts)
    if (v.figure_key == figure_key) return v;
  throw std::runtime_error("no verdict for " + figure_key);
}

TEST(Convergence, DerivedFromTheCurve) {
  RunResult run;
  const double losses[] = {1.0, 0.6, 0.5, 0.55, 0.5, 0.7};
  const double f1[] = {0.2, 0.7, 0.86, 0.9, 0.91, 0.9};
  for (int e = 0; e < 6; ++e)
    run.curve.push_back({e + 1, 0.0, losses[e], f1[e], 1e-3, 10.0 * (e + 1), 32 * (e + 1)});
  derive_convergence(run);
  EXPECT_EQ(run.best_epoch, 3);  // first epoch reaching the minimum 0.5
  EXPECT_DOUBLE_EQ(run.best_val_loss, 0.5);
  EXPECT_DOUBLE_EQ(run.seconds_to_best, 30.0);
  EXPECT_EQ(run.samples_to_best, 96);
  EXPECT_EQ(run.epochs_to_95pct_final_f1, 3);  // 0.95 * 0.9 = 0.855 first reached at epoch 3
}

TEST(Analysis, ConsistentGainIsSupportedMixedIsNot) {
  // Five seeds: melt +0.05 in every seed; freeze-up gain zero -> no difference.
  const Analysis a = analyse(fake_summary(5, 0.05, 0.0));
  const Verdict& melt = verdict_for(a, "test.last.melt.weighted_f1");
  EXPECT_EQ(melt.level, VerdictLevel::kSupported) << melt.answer;
  EXPECT_NE(melt.answer.find("p = 0.0625"), std::string::npos) << melt.answer;
  const Verdict& freeze = verdict_for(a, "test.last.freeze-up.weighted_f1");
  EXPECT_EQ(freeze.level, VerdictLevel::kNoDifference) << freeze.answer;
  // Imagenet curves rise faster in the fake data: fewer epochs to 95 % of the final F1.
  const Verdict& speed = verdict_for(a, "convergence.epochs_to_95pct_final_f1");
  EXPECT_EQ(speed.level, VerdictLevel::kSupported) << speed.answer;
  const Verdict& gap = verdict_for(a, "test.last.melt_vs_freeze-up.weighted_f1_advantage");
  EXPECT_EQ(gap.level, VerdictLevel::kSupported) << gap.answer;
  EXPECT_EQ(a.seasons, (std::vector<std::string>{"freeze-up", "melt"}));
}

TEST(Analysis, ThreeSeedsAreConsistencyNotSignificance) {
  const Analysis a = analyse(fake_summary(3, 0.05, -0.05));
  const Verdict& melt = verdict_for(a, "test.last.melt.weighted_f1");
  EXPECT_EQ(melt.level, VerdictLevel::kSupported);
  EXPECT_NE(melt.answer.find("smallest attainable p is 0.25"), std::string::npos) << melt.answer;
  const Verdict& freeze = verdict_for(a, "test.last.freeze-up.weighted_f1");
  EXPECT_EQ(freeze.level, VerdictLevel::kContradicted) << freeze.answer;
}

TEST(Analysis, DisagreeingSeedsAreMixed) {
  ExperimentSummary s = fake_summary(3, 0.05, 0.0);
  // Seed 2: the random arm beats imagenet on melt.
  for (auto& run : s.runs)
    if (run.arm == "random" && run.seed == 2)
      for (auto& e : run.evaluations)
        for (auto& m : e.seasons)
          if (m.season == "melt") m.weighted_f1 += 0.2;
  // The analysis outlives the reference into it (ASan: heap-use-after-free on a temporary).
  const Analysis analysis = analyse(s);
  const Verdict& melt = verdict_for(analysis, "test.last.melt.weighted_f1");
  EXPECT_EQ(melt.level, VerdictLevel::kMixed) << melt.answer;
}

TEST(Analysis, MissingArmGivesNoData) {
  ExperimentSummary s = fake_summary(3, 0.05, 0.0);
  s.baseline_arm = "frozen";  // no such arm ran
  const Analysis a = analyse(s);
  for (const auto& v : a.verdicts)
    EXPECT_EQ(v.level, VerdictLevel::kNoData) << v.question;
}

TEST(SummaryJson, RoundTrips) {
  const ExperimentSummary s = fake_summary(2, 0.01, 0.02);
  const nlohmann::json j = s;
  const ExperimentSummary back = j.get<ExperimentSummary>();
  EXPECT_EQ(nlohmann::json(back), j);
  ASSERT_EQ(back.runs.size(), 4u);
  EXPECT_EQ(back.runs[0].curve.size(), s.runs[0].curve.size());
}

TEST(Analysis, CalibrationFiguresAndVerdictWhenRunsRecordedCalibration) {
  const Analysis without = analyse(fake_summary(3, 0.05, 0.0));
  EXPECT_EQ(without.find("calibration.last.all.ece"), nullptr);  // old summaries: nothing new
  ExperimentSummary summary = fake_summary(3, 0.05, 0.0);
  testing::add_fake_calibration(summary);
  const Analysis a = analyse(summary);
  const FigureAnalysis* ece = a.find("calibration.last.all.ece");
  ASSERT_NE(ece, nullptr);
  EXPECT_EQ(ece->direction, Direction::kLowerIsBetter);
  ASSERT_NE(ece->find("random"), nullptr);
  EXPECT_NEAR(ece->find("random")->spread.median, 0.25, 0.02);
  EXPECT_NEAR(ece->find("imagenet")->spread.median, 0.0, 0.01);
  const Verdict& calibrated = verdict_for(a, "calibration.last.all.ece");
  EXPECT_EQ(calibrated.question, "Is imagenet better calibrated than random?");
  EXPECT_EQ(calibrated.level, VerdictLevel::kSupported) << calibrated.answer;
  const FigureAnalysis* auroc = a.find("calibration.last.all.error_auroc");
  ASSERT_NE(auroc, nullptr);
  EXPECT_DOUBLE_EQ(auroc->find("imagenet")->spread.median, 1.0);

  // The counts survive summary.json.
  const nlohmann::json j = summary;
  const ExperimentSummary back = j.get<ExperimentSummary>();
  EXPECT_EQ(nlohmann::json(back), j);
  EXPECT_EQ(back.runs[0].find("last")->find("all")->calibration.pixels(), 1000);
}

TEST(Report, ShowsCalibrationAndUncertaintyPerArm) {
  sarseg::testing::TempDir dir;
  ExperimentSummary summary = fake_summary(3, 0.05, 0.0);
  const ReportFiles plain = write_report(summary, dir.path());
  EXPECT_EQ(read_file(plain.markdown).find("Calibration and uncertainty"), std::string::npos);
  testing::add_fake_calibration(summary);
  const ReportFiles files = write_report(summary, dir.path());
  const std::string md = read_file(files.markdown);
  EXPECT_NE(md.find("## Calibration and uncertainty"), std::string::npos);
  EXPECT_NE(md.find("Is imagenet better calibrated than random?"), std::string::npos);
  EXPECT_NE(md.find("| random | 3000 | 0.7333 |"), std::string::npos) << md;
  const std::string html = read_file(files.html);
  EXPECT_NE(html.find("id='calibration'"), std::string::npos);
  EXPECT_NE(html.find("reliability · last-epoch weights"), std::string::npos);
  EXPECT_NE(html.find("perfect calibration"), std::string::npos);
  const auto doc = nlohmann::json::parse(read_file(files.summary_json));
  bool found = false;
  for (const auto& f : doc["analysis"]["figures"])
    found = found || (f["key"] == "calibration.last.all.ece" && f["better"] == "lower");
  EXPECT_TRUE(found);
}

TEST(Base64, KnownVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Report, WritesThreeSelfContainedFiles) {
  sarseg::testing::TempDir dir;
  ExperimentSummary s = fake_summary(3, 0.05, 0.0);
  testing::write_tiny_png(dir / "truth.png");
  testing::write_tiny_png(dir / "pred_imagenet.png");
  testing::write_tiny_png(dir / "pred_random.png");
  s.quicklooks.push_back({"scene_a",
                          "melt",
                          "truth.png",
                          "",
                          {{"imagenet", "pred_imagenet.png"}, {"random", "pred_random.png"}},
                          "seed 1, last-epoch weights"});
  const ReportFiles files = write_report(s, dir.path());

  const auto doc = nlohmann::json::parse(read_file(files.summary_json));
  EXPECT_EQ(doc.at("runs").size(), 6u);
  const auto& verdicts = doc.at("analysis").at("verdicts");
  ASSERT_GE(verdicts.size(), 3u);
  bool melt_supported = false;
  for (const auto& v : verdicts)
    if (v.at("figure") == "test.last.melt.weighted_f1")
      melt_supported = v.at("verdict") == "supported";
  EXPECT_TRUE(melt_supported);
  // Every per-seed figure is in the JSON: 3 seeds of the melt F1 per arm.
  bool found = false;
  for (const auto& f : doc.at("analysis").at("figures"))
    if (f.at("key") == "test.best.melt.weighted_iou") {
      EXPECT_EQ(f.at("arms").at("imagenet").at("per_seed").size(), 3u);
      EXPECT_EQ(f.at("paired").at("differences").size(), 3u);
      found = true;
    }
  EXPECT_TRUE(found);

  const std::string md = read_file(files.markdown);
  EXPECT_NE(md.find("## Verdicts"), std::string::npos);
  EXPECT_NE(md.find("Rule:"), std::string::npos);

  const std::string html = read_file(files.html);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("class='band'"), std::string::npos);
  EXPECT_NE(html.find("class='whisker'"), std::string::npos);
  EXPECT_NE(html.find("<table class='cm'>"), std::string::npos);
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
  EXPECT_EQ(html.find("class='missing'"), std::string::npos);
  // Self-contained: nothing is fetched from anywhere.
  EXPECT_FALSE(std::regex_search(html, std::regex("(src|href)=['\"]?(https?:|//|file:)")));
}

TEST(Report, ChartsComeFromTheData) {
  sarseg::testing::TempDir dir;
  const ExperimentSummary a = fake_summary(3, 0.05, 0.0);
  const ExperimentSummary b = fake_summary(3, 0.05, 0.0, 0.1);
  const ExperimentSummary c = fake_summary(3, 0.0, 0.08);
  const auto svg_only = [](const std::string& html) {
    std::string out;
    const std::regex svg("<svg[\\s\\S]*?</svg>");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), svg);
         it != std::sregex_iterator(); ++it)
      out += it->str();
    return out;
  };
  const std::string svg_a = svg_only(render_html(a, analyse(a), dir.path()));
  ASSERT_FALSE(svg_a.empty());
  EXPECT_EQ(svg_a, svg_only(render_html(a, analyse(a), dir.path())));  // deterministic
  EXPECT_NE(svg_a, svg_only(render_html(b, analyse(b), dir.path())));  // other curves
  EXPECT_NE(svg_a, svg_only(render_html(c, analyse(c), dir.path())));  // other test metrics
}

TEST(Report, MissingQuicklookIsShownNotDropped) {
  sarseg::testing::TempDir dir;
  ExperimentSummary s = fake_summary(2, 0.05, 0.0);
  s.quicklooks.push_back({"scene_b", "melt", "nowhere.png", "", {}, ""});
  const std::string html = render_html(s, analyse(s), dir.path());
  EXPECT_NE(html.find("class='missing'"), std::string::npos);
}

}  // namespace
}  // namespace sarseg::experiment
