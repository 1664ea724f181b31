// The speckle-filter axis: it multiplies the runs, leaves the runs without a filter as they were
// (ids, folders, summary keys), refuses unknown filters before any training, and lands in
// summary.json with a verdict per filter. The tiny experiment with two filters trained for real
// is SpeckleAxis.TinyExperimentWithTwoFilters (label slow, speckle_axis_training_test.cpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_summary.h"
#include "sarseg/experiment/config.h"
#include "sarseg/experiment/plan.h"
#include "sarseg/experiment/report.h"
#include "sarseg/experiment/runner.h"
#include "sarseg/experiment/speckle_axis.h"
#include "sarseg/io/speckle.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "support/test_support.h"
#include "tiny_experiment.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {
namespace {

using testing::tiny;

TEST(SpeckleAxis, DefaultRunsKeepTheirNamesAndFolders) {
  const ExperimentConfig config = load_experiment_config("quick", std::nullopt, {});
  EXPECT_TRUE(config.experiment.speckle_filters.empty());
  const auto runs = plan_runs(config);
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs.front().id(), "imagenet:" + std::to_string(config.experiment.seeds.front()));
  EXPECT_EQ(speckle_run_directory("out", "imagenet", 3, "none"),
            run_directory("out", "imagenet", 3));
  nlohmann::json j = RunResult{};
  EXPECT_FALSE(j.contains("speckle_filter"));
}

// The speckle profile is the quick study with the axis: its unfiltered runs train exactly what
// quick's runs train (the same resolved run configuration), so the two experiments compare.
TEST(SpeckleAxis, TheSpeckleProfileIsQuickWithTheAxis) {
  const ExperimentConfig quick = load_experiment_config("quick", std::nullopt, {});
  const ExperimentConfig speckle = load_experiment_config("speckle", std::nullopt, {});
  EXPECT_EQ(speckle.experiment.speckle_filters, (std::vector<std::string>{"none", "refined_lee"}));
  EXPECT_EQ(plan_runs(speckle).size(), 2 * plan_runs(quick).size());
  for (const auto& arm : arms_of(quick)) {
    const auto yaml = [&](const ExperimentConfig& config) {
      return train::train_config_schema().to_yaml(run_config(config, arm, 2, "x"));
    };
    EXPECT_EQ(yaml(speckle), yaml(quick)) << arm.name;
  }
}

TEST(SpeckleAxis, MultipliesTheRuns) {
  const ExperimentConfig plain = load_experiment_config("quick", std::nullopt, {});
  const ExperimentConfig axis = load_experiment_config(
      "quick", std::nullopt, {"experiment.speckle_filters=[none, refined_lee]"});
  const auto runs = plan_runs(axis);
  ASSERT_EQ(runs.size(), 2 * plan_runs(plain).size());
  std::set<std::string> ids;
  for (const auto& run : runs)
    ids.insert(run.id());
  EXPECT_EQ(ids.size(), runs.size());
  EXPECT_TRUE(ids.count("imagenet:1"));
  EXPECT_TRUE(ids.count("imagenet:1@refined_lee"));
  EXPECT_EQ(parse_run_id(axis, "random:1@refined_lee").speckle_filter, "refined_lee");
  EXPECT_EQ(speckle_run_directory("out", "imagenet", 1, "refined_lee"),
            fs::path("out/speckle-refined_lee/imagenet/seed1"));
  train::TrainConfig run = run_config(axis, arms_of(axis)[0], 1, "x");
  apply_speckle_filter(run, "refined_lee");
  EXPECT_EQ(run.data.speckle_filter, "refined_lee");
}

TEST(SpeckleAxis, UnknownFiltersAreRefusedWithTheValidNames) {
  for (const std::string setting :
       {"data.speckle_filter=median", "experiment.speckle_filters=[none, median]"}) {
    try {
      load_experiment_config("quick", std::nullopt, {setting});
      ADD_FAILURE() << "no error for " << setting;
    } catch (const UserError& e) {
      const std::string text = e.what();
      for (const auto& name : io::speckle_filter_names())
        EXPECT_NE(text.find(name), std::string::npos) << text;
    }
  }
  EXPECT_THROW(
      load_experiment_config("quick", std::nullopt, {"experiment.speckle_filters=[lee, lee]"}),
      UserError);
  EXPECT_THROW(load_experiment_config(
                   "quick", std::nullopt,
                   {"experiment.speckle_filters=[none, lee]", "data.speckle_filter=frost"}),
               UserError);
  EXPECT_THROW(load_experiment_config("quick", std::nullopt,
                                      {"data.speckle_window=4", "data.speckle_filter=lee"}),
               UserError);
}

// The label-efficiency analysis compares fractions of one preprocessing: crossing the two axes
// is refused before any training, with what to do.
TEST(SpeckleAxis, CrossingWithLabelFractionsIsRefused) {
  try {
    load_experiment_config("quick", std::nullopt,
                           {"experiment.speckle_filters=[none, refined_lee]",
                            "experiment.label_fractions=[0.5, 1.0]"});
    ADD_FAILURE() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("as two experiments"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(
      load_experiment_config("quick", std::nullopt, {"experiment.label_fractions=[0.5, 1.0]"}));
}

TEST(SpeckleAxis, UnknownFilterStopsTheRunnerBeforeAnyOutput) {
  sarseg::testing::TempDir dir;
  ExperimentConfig config = load_experiment_config("quick", std::nullopt, tiny());
  config.train.data.speckle_filter = "median";  // past the schema, as code could set it
  EXPECT_THROW(run_experiment(config, {dir / "out", "quick"}), UserError);
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(SpeckleAxis, SummaryHoldsEveryRunAndAVerdictPerFilter) {
  ExperimentSummary summary = testing::fake_summary(4, 0.05, 0.04);
  // The refined_lee runs: the same runs without the imagenet advantage.
  ExperimentSummary filtered = testing::fake_summary(4, 0.0, 0.0);
  for (auto run : filtered.runs) {
    run.speckle_filter = "refined_lee";
    summary.runs.push_back(run);
  }
  sarseg::testing::TempDir dir;
  write_report(summary, dir.path());
  const auto doc = nlohmann::json::parse(read_file(dir / "summary.json"));
  ASSERT_EQ(doc.at("runs").size(), summary.runs.size());
  int with_filter = 0;
  for (const auto& run : doc.at("runs"))
    with_filter += run.contains("speckle_filter");
  EXPECT_EQ(with_filter, static_cast<int>(filtered.runs.size()));
  const auto& filters = doc.at("speckle_filters").at("filters");
  ASSERT_EQ(filters.size(), 2u);
  EXPECT_EQ(filters[0].at("filter"), "none");
  EXPECT_EQ(filters[1].at("filter"), "refined_lee");
  EXPECT_FALSE(filters[0].at("verdicts").empty());
  const auto findings = doc.at("speckle_filters").at("findings");
  ASSERT_FALSE(findings.empty());
  // The unfiltered runs alone make the main analysis.
  const auto main_verdicts = doc.at("analysis").at("verdicts");
  EXPECT_EQ(main_verdicts.size(), filters[0].at("verdicts").size());
  const std::string markdown = read_file(dir / "report.md");
  EXPECT_NE(markdown.find("## Speckle filtering"), std::string::npos);
  EXPECT_NE(read_file(dir / "report.html").find("Speckle filtering"), std::string::npos);
  // A single filter: no section, the document as before.
  sarseg::testing::TempDir plain;
  write_report(testing::fake_summary(4, 0.05, 0.04), plain.path());
  EXPECT_FALSE(
      nlohmann::json::parse(read_file(plain / "summary.json")).contains("speckle_filters"));
}

}  // namespace
}  // namespace sarseg::experiment
