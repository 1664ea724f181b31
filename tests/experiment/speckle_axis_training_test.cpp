// The speckle-filter axis trained for real on tiny synthetic scenes (label slow): two filters,
// the unfiltered runs identical to those of the same experiment without the axis, the filter
// recorded in the filtered runs' checkpoints, a verdict per filter in summary.json.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sarseg/checkpoint/checkpoint.h"
#include "sarseg/experiment/config.h"
#include "sarseg/experiment/runner.h"
#include "sarseg/util/atomic_file.h"
#include "support/test_support.h"
#include "tiny_experiment.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {
namespace {

using testing::tiny;

const RunResult* find(const ExperimentSummary& s, const std::string& arm,
                      const std::string& filter) {
  for (const auto& run : s.runs)
    if (run.arm == arm && run.speckle_filter == filter) return &run;
  return nullptr;
}

TEST(SpeckleAxis, TinyExperimentWithTwoFilters) {
  sarseg::testing::TempDir dir;
  const ExperimentConfig axis = load_experiment_config(
      "quick", std::nullopt, tiny({"experiment.speckle_filters=[none, refined_lee]"}));
  const ExperimentOutcome outcome = run_experiment(axis, {dir / "axis", "quick"});
  ASSERT_EQ(outcome.summary.runs.size(), 4u);
  EXPECT_EQ(outcome.runs_trained, 4);
  EXPECT_TRUE(fs::exists(dir / "axis" / "imagenet" / "seed1" / "result.json"));
  EXPECT_TRUE(
      fs::exists(dir / "axis" / "speckle-refined_lee" / "random" / "seed1" / "result.json"));
  const auto meta = checkpoint::read_checkpoint_meta(checkpoint::resolve_checkpoint_path(
      dir / "axis" / "speckle-refined_lee" / "imagenet" / "seed1", "last"));
  EXPECT_EQ(meta.normalization.speckle.filter, "refined_lee");
  EXPECT_FALSE(checkpoint::read_checkpoint_meta(
                   checkpoint::resolve_checkpoint_path(dir / "axis" / "imagenet" / "seed1", "last"))
                   .normalization.speckle.active());

  // The filter changes what the model sees, so the curves differ.
  const RunResult* plain_run = find(outcome.summary, "imagenet", "none");
  const RunResult* filtered_run = find(outcome.summary, "imagenet", "refined_lee");
  ASSERT_TRUE(plain_run && filtered_run);
  EXPECT_NE(plain_run->curve.front().train_loss, filtered_run->curve.front().train_loss);

  // Without the axis the same runs, bit for bit.
  const ExperimentConfig plain = load_experiment_config("quick", std::nullopt, tiny());
  const ExperimentOutcome reference = run_experiment(plain, {dir / "plain", "quick"});
  const RunResult* same = find(reference.summary, "imagenet", "none");
  ASSERT_TRUE(same);
  ASSERT_EQ(same->curve.size(), plain_run->curve.size());
  for (size_t e = 0; e < same->curve.size(); ++e)
    EXPECT_EQ(same->curve[e].val_loss, plain_run->curve[e].val_loss);

  const auto doc = nlohmann::json::parse(read_file(dir / "axis" / "summary.json"));
  EXPECT_EQ(doc.at("runs").size(), 4u);
  ASSERT_EQ(doc.at("speckle_filters").at("filters").size(), 2u);
  EXPECT_FALSE(doc.at("speckle_filters").at("findings").empty());
  EXPECT_FALSE(
      nlohmann::json::parse(read_file(dir / "plain" / "summary.json")).contains("speckle_filters"));
}

}  // namespace
}  // namespace sarseg::experiment
