// Censored convergence, label efficiency and test domains in the analysis and the report, from
// made-up summaries with known answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "experiment/fake_summary.h"
#include "sarseg/experiment/analysis.h"
#include "sarseg/experiment/convergence.h"
#include "sarseg/experiment/domains.h"
#include "sarseg/experiment/label_efficiency.h"
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

// Marks the runs of `arm` (every seed, or only `seed`) as stopped at the epoch cap.
void censor(ExperimentSummary& s, const std::string& arm, int64_t seed = -1) {
  for (auto& run : s.runs)
    if (run.arm == arm && (seed < 0 || run.seed == seed)) {
      run.stop_reason = "max_epochs reached";
      assess_convergence(run, false);
    }
}

// ---- convergence -------------------------------------------------------------------------------

TEST(Censoring, OnlyEarlyStoppingOrAScheduleThatEndsThereConverge) {
  RunResult run;
  run.stop_reason = "early stopping: no improvement for 6 epochs (patience 6)";
  assess_convergence(run, false);
  EXPECT_FALSE(run.censored);
  EXPECT_EQ(run.convergence, "early stopping");
  run.stop_reason = "max_epochs reached";
  assess_convergence(run, false);
  EXPECT_TRUE(run.censored);
  EXPECT_EQ(run.convergence, "censored: max_epochs reached");
  assess_convergence(run, true);
  EXPECT_FALSE(run.censored);
  EXPECT_EQ(run.convergence, "schedule completed");
  // A result.json written before censoring was recorded: the cap means censored.
  nlohmann::json old = nlohmann::json(run);
  old.erase("censored");
  old.erase("convergence");
  EXPECT_TRUE(old.get<RunResult>().censored);
  old["stop_reason"] = "early stopping: no improvement";
  EXPECT_FALSE(old.get<RunResult>().censored);
}

TEST(Censoring, APairWhereOnlyOneArmConvergedCountsForIt) {
  // The fake random runs take longer anyway; here they also never converge: every pair counts
  // for imagenet, and the answer says why.
  ExperimentSummary s = fake_summary(3, 0.0, 0.0);
  censor(s, "random");
  const Analysis a = analyse(s);
  const Verdict& speed = verdict_for(a, "convergence.epochs_to_95pct_final_f1");
  EXPECT_EQ(speed.level, VerdictLevel::kSupported) << speed.answer;
  EXPECT_NE(speed.answer.find("3 where only imagenet converged"), std::string::npos)
      << speed.answer;
  EXPECT_NE(speed.answer.find("curves did not flatten in 3 of 6 runs"), std::string::npos)
      << speed.answer;
  // The other way round: the censored arm cannot win on its bounds.
  ExperimentSummary t = fake_summary(3, 0.0, 0.0);
  censor(t, "imagenet");
  const Verdict& slow = verdict_for(analyse(t), "convergence.epochs_to_95pct_final_f1");
  EXPECT_EQ(slow.level, VerdictLevel::kContradicted) << slow.answer;
}

TEST(Censoring, NeitherConvergedIsATieAndTooManyMakeItInconclusive) {
  ExperimentSummary s = fake_summary(3, 0.0, 0.0);
  censor(s, "random");
  censor(s, "imagenet");
  const Analysis a = analyse(s);
  const Verdict& speed = verdict_for(a, "convergence.epochs_to_95pct_final_f1");
  EXPECT_EQ(speed.level, VerdictLevel::kInconclusive) << speed.answer;
  EXPECT_EQ(speed.answer.rfind("Inconclusive: curves did not flatten in 6 of 6 runs", 0), 0u)
      << speed.answer;
  EXPECT_NE(speed.answer.find("3 where neither converged (ties"), std::string::npos)
      << speed.answer;
  for (const auto& supporting : speed.supporting)
    EXPECT_NE(supporting.find("inconclusive"), std::string::npos) << supporting;
  // One pair of five with neither converged is a tie; the other four still decide.
  ExperimentSummary five = fake_summary(5, 0.0, 0.0);
  censor(five, "random", 2);
  censor(five, "imagenet", 2);
  const Verdict& mostly = verdict_for(analyse(five), "convergence.epochs_to_95pct_final_f1");
  EXPECT_EQ(mostly.level, VerdictLevel::kSupported) << mostly.answer;
  EXPECT_NE(mostly.answer.find("1 where neither converged"), std::string::npos) << mostly.answer;
  // Without censored runs the verdict is the usual one.
  const Verdict& plain =
      verdict_for(analyse(fake_summary(3, 0.0, 0.0)), "convergence.epochs_to_95pct_final_f1");
  EXPECT_EQ(plain.answer.find("converged"), std::string::npos) << plain.answer;
}

TEST(Censoring, FlaggedInSummaryJsonAndTheReport) {
  sarseg::testing::TempDir dir;
  ExperimentSummary s = fake_summary(3, 0.0, 0.0);
  censor(s, "random", 2);
  const ReportFiles files = write_report(s, dir.path());
  const auto doc = nlohmann::json::parse(read_file(files.summary_json));
  EXPECT_EQ(doc["analysis"]["censored_runs"], nlohmann::json::array({"random:2"}));
  int flagged = 0;
  for (const auto& run : doc["runs"])
    flagged += run["censored"].get<bool>() ? 1 : 0;
  EXPECT_EQ(flagged, 1);
  const std::string md = read_file(files.markdown);
  EXPECT_NE(md.find("1 of 6 runs censored"), std::string::npos);
  EXPECT_NE(md.find("max_epochs reached (censored)"), std::string::npos);
  EXPECT_NE(read_file(files.html).find("max_epochs reached (censored)"), std::string::npos);
}

// ---- label fractions ---------------------------------------------------------------------------

TEST(LabelFractions, NestedSeededPerSeason) {
  std::vector<std::string> seasons;
  for (int i = 0; i < 20; ++i)
    seasons.push_back(i % 2 ? "melt" : "freeze-up");
  const std::vector<double> fractions = {0.1, 0.25, 0.5, 1.0};
  std::set<std::vector<size_t>> draws_at_a_quarter;
  for (int64_t seed = 1; seed <= 5; ++seed) {
    std::vector<size_t> previous;
    for (double f : fractions) {
      const auto chosen = labelled_scene_indices(seasons, f, seed);
      EXPECT_EQ(chosen, labelled_scene_indices(seasons, f, seed)) << "reproducible";
      // ceil(f * 10) of each season's ten scenes, at least one.
      const size_t per_season = f == 0.1 ? 1 : f == 0.25 ? 3 : f == 0.5 ? 5 : 10;
      ASSERT_EQ(chosen.size(), 2 * per_season) << f;
      EXPECT_EQ(std::count_if(chosen.begin(), chosen.end(), [](size_t i) { return i % 2; }),
                static_cast<long>(per_season));
      EXPECT_TRUE(std::includes(chosen.begin(), chosen.end(), previous.begin(), previous.end()))
          << "fraction " << f << " seed " << seed << " does not contain the smaller share";
      previous = chosen;
      if (f == 0.25) draws_at_a_quarter.insert(chosen);
    }
  }
  EXPECT_GT(draws_at_a_quarter.size(), 1u) << "the seed does not change the choice";
  EXPECT_EQ(fraction_text(0.25), "0.25");
  EXPECT_EQ(fraction_text(0.1), "0.1");
}

TEST(LabelEfficiency, LabelsSavedIsTheSmallestMatchingFraction) {
  ExperimentSummary s = fake_summary(3, 0.03, 0.03);
  testing::add_fake_label_fractions(s, {0.25, 0.5});
  const LabelEfficiency le = analyse_label_efficiency(s);
  ASSERT_EQ(le.fractions, (std::vector<double>{0.25, 0.5, 1.0}));
  ASSERT_EQ(le.groups.size(), 2u);  // freeze-up, melt
  for (const auto& g : le.groups) {
    EXPECT_DOUBLE_EQ(g.matching_fraction, 0.5) << g.season;
    EXPECT_EQ(g.seed_matching_spread.count, 3);
    EXPECT_DOUBLE_EQ(g.seed_matching_spread.max, 0.5);
    EXPECT_EQ(g.verdict.level, VerdictLevel::kSupported) << g.verdict.answer;
    EXPECT_NE(g.verdict.answer.find("labels saved: 50 %"), std::string::npos) << g.verdict.answer;
    // imagenet at 25 %: 0.05 below random with every label, 0.025 above random at 25 %.
    EXPECT_NEAR(g.versus_full[0].spread.median, -0.05, 1e-9);
    EXPECT_NEAR(g.paired[0].spread.median, 0.025, 1e-9);
    EXPECT_EQ(g.paired[0].positive, 3);
  }
  // A pretrained arm that never catches up saves no labels.
  ExperimentSummary never = fake_summary(3, -0.05, -0.05);
  testing::add_fake_label_fractions(never, {0.25, 0.5}, 0.05);
  for (auto& run : never.fraction_runs)
    if (run.arm == "imagenet")
      for (auto& e : run.evaluations)
        for (auto& m : e.seasons)
          m.weighted_f1 -= 0.2;
  const LabelEfficiency none = analyse_label_efficiency(never);
  for (const auto& g : none.groups) {
    EXPECT_EQ(g.verdict.level, VerdictLevel::kContradicted) << g.verdict.answer;
    EXPECT_DOUBLE_EQ(g.matching_fraction, 0.0);
  }
  EXPECT_TRUE(analyse_label_efficiency(fake_summary(3, 0.0, 0.0)).empty());
}

TEST(LabelEfficiency, ReportChartsAndJsonComeFromTheRuns) {
  sarseg::testing::TempDir dir;
  ExperimentSummary s = fake_summary(3, 0.03, 0.03);
  testing::add_fake_label_fractions(s, {0.25, 0.5});
  const ReportFiles files = write_report(s, dir.path());
  const auto doc = nlohmann::json::parse(read_file(files.summary_json));
  ASSERT_TRUE(doc["analysis"].contains("label_efficiency"));
  const auto& groups = doc["analysis"]["label_efficiency"]["groups"];
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_DOUBLE_EQ(groups[0]["labels_saved"].get<double>(), 0.5);
  EXPECT_EQ(groups[0]["arms"]["imagenet"].size(), 3u);
  EXPECT_EQ(doc["fraction_runs"].size(), 12u);
  // The round trip keeps the fraction runs apart from the core study.
  const ExperimentSummary back = doc.get<ExperimentSummary>();
  EXPECT_EQ(back.runs.size(), 6u);
  EXPECT_EQ(back.fraction_runs.size(), 12u);
  EXPECT_DOUBLE_EQ(back.fraction_runs[0].label_fraction, 0.25);
  const std::string html = read_file(files.html);
  const auto section = html.find("id='label-efficiency'");
  ASSERT_NE(section, std::string::npos);
  EXPECT_NE(html.find("weighted_f1 vs labelled fraction · melt test scenes", section),
            std::string::npos);
  // The chart's median for random with every label is the data's (0.80 + wobble 0.003 = 0.803).
  EXPECT_NE(html.find("random at 100 %", section), std::string::npos);
  const std::string md = read_file(files.markdown);
  EXPECT_NE(md.find("## Label efficiency"), std::string::npos);
  EXPECT_NE(md.find("| 25 % |"), std::string::npos);
  // The core figures ignore the fraction runs: the same as without them.
  EXPECT_EQ(nlohmann::json(summary_document(s, analyse(s))["analysis"]["figures"]),
            nlohmann::json(
                summary_document(fake_summary(3, 0.03, 0.03),
                                 analyse(fake_summary(3, 0.03, 0.03)))["analysis"]["figures"]));
}

// ---- test domains ------------------------------------------------------------------------------

TEST(Domains, EveryFigurePerDomainAndWhetherTheAdvantageHolds) {
  ExperimentSummary s = fake_summary(3, 0.04, 0.04);
  testing::add_fake_domain(s, 0.04);  // out of domain the imagenet advantage vanishes
  const Analysis in_domain = analyse(s);
  // In domain nothing changed.
  EXPECT_EQ(verdict_for(in_domain, "test.last.melt.weighted_f1").level, VerdictLevel::kSupported);
  const auto domains = analyse_domains(s, in_domain);
  ASSERT_EQ(domains.size(), 1u);
  const auto& noisy = domains[0];
  EXPECT_EQ(noisy.domain.name, "noisy");
  EXPECT_EQ(verdict_for(noisy.analysis, "test.last.melt.weighted_f1").level,
            VerdictLevel::kNoDifference);
  const FigureAnalysis* melt = noisy.analysis.find("test.last.melt.weighted_f1");
  ASSERT_NE(melt, nullptr);
  EXPECT_NEAR(melt->find("random")->spread.median, 0.703, 1e-9);
  EXPECT_NE(noisy.holds.question.find("hold out of domain (noisy"), std::string::npos);

  // A domain where the advantage stays.
  ExperimentSummary kept = fake_summary(3, 0.04, 0.04);
  testing::add_fake_domain(kept, 0.0);
  const auto holds = analyse_domains(kept, analyse(kept));
  EXPECT_EQ(holds[0].analysis.find("test.last.freeze-up.weighted_f1")->paired.positive, 3);
}

TEST(Domains, TagsReachSummaryJsonAndTheReport) {
  sarseg::testing::TempDir dir;
  ExperimentSummary s = fake_summary(3, 0.04, 0.04);
  for (auto& run : s.runs)
    for (auto& e : run.evaluations)
      e.seasons.push_back([&] {
        SeasonMetrics all = e.seasons.front();
        all.season = "all";
        return all;
      }());
  testing::add_fake_domain(s, 0.0);
  const ReportFiles files = write_report(s, dir.path());
  const auto doc = nlohmann::json::parse(read_file(files.summary_json));
  ASSERT_EQ(doc["domains"].size(), 1u);
  EXPECT_EQ(doc["domains"][0]["name"], "noisy");
  std::set<std::string> tags;
  for (const auto& e : doc["runs"][0]["evaluations"])
    tags.insert(e.value("domain", ""));
  EXPECT_EQ(tags, (std::set<std::string>{"", "noisy"}));
  const auto& domain = doc["analysis"]["domains"][0];
  EXPECT_EQ(domain["name"], "noisy");
  EXPECT_EQ(domain["holds"]["verdict"], "supported") << domain["holds"]["answer"];
  EXPECT_NE(read_file(files.html).find("id='domains'"), std::string::npos);
  EXPECT_NE(read_file(files.markdown).find("## Other domains"), std::string::npos);
}

}  // namespace
}  // namespace sarseg::experiment
