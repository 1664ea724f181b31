// A tiny synthetic experiment trained for real (several seconds, label slow): paired data across
// arms, the files the runner writes, reuse of finished runs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "sarseg/experiment/config.h"
#include "sarseg/experiment/runner.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "support/test_support.h"
#include "tiny_experiment.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {
namespace {

using testing::tiny;

TEST(ExperimentRunner, SameSeedSameDataOnlyInitDiffers) {
  sarseg::testing::TempDir dir;
  // Two arms with the same init: identical crops, batch order and weights must give identical
  // curves; the imagenet arm and another seed must not.
  const ExperimentConfig config = load_experiment_config(
      "quick", std::nullopt,
      tiny({"experiment.arms=[imagenet, random, twin:random]", "experiment.seeds=[1, 2]"}));
  const ExperimentOutcome outcome = run_experiment(config, {dir / "exp", "quick"});
  const ExperimentSummary& s = outcome.summary;
  ASSERT_EQ(s.runs.size(), 6u);
  EXPECT_EQ(outcome.runs_trained, 6);
  for (int64_t seed : {1, 2}) {
    const RunResult* random = s.find_run("random", seed);
    const RunResult* twin = s.find_run("twin", seed);
    const RunResult* imagenet = s.find_run("imagenet", seed);
    ASSERT_TRUE(random && twin && imagenet);
    ASSERT_EQ(random->curve.size(), twin->curve.size());
    for (size_t e = 0; e < random->curve.size(); ++e) {
      EXPECT_EQ(random->curve[e].train_loss, twin->curve[e].train_loss) << "epoch " << e + 1;
      EXPECT_EQ(random->curve[e].val_loss, twin->curve[e].val_loss);
      EXPECT_EQ(random->curve[e].samples_seen, imagenet->curve[e].samples_seen);
    }
    EXPECT_NE(random->curve[0].train_loss, imagenet->curve[0].train_loss);
    // Evaluated on the test scenes per season, for the last and the best weights.
    for (const std::string weights : {"last", "best"}) {
      const Evaluation* e = random->find(weights);
      ASSERT_NE(e, nullptr) << weights;
      for (const std::string season : {"freeze-up", "melt", "all"}) {
        const SeasonMetrics* m = e->find(season);
        ASSERT_NE(m, nullptr) << season;
        EXPECT_GT(m->pixels, 0);
        EXPECT_EQ(m->confusion.size(), 6u);
      }
    }
    const Evaluation* last = random->find("last");
    const Evaluation* last_twin = twin->find("last");
    EXPECT_EQ(last->find("all")->confusion, last_twin->find("all")->confusion);
  }
  EXPECT_NE(s.find_run("random", 1)->curve[0].train_loss,
            s.find_run("random", 2)->curve[0].train_loss);
  for (const auto& file : {"summary.json", "report.md", "report.html", "experiment.yaml",
                           "imagenet/seed1/result.json", "twin/seed2/checkpoints/best.pt"})
    EXPECT_TRUE(fs::exists(dir / "exp" / file)) << file;
  ASSERT_FALSE(s.quicklooks.empty());
  EXPECT_EQ(s.quicklooks[0].predictions.size(), 3u);
  const std::string html = read_file(dir / "exp" / "report.html");
  EXPECT_EQ(html.find("class='missing'"), std::string::npos);

  // A second invocation keeps every finished run.
  const ExperimentOutcome again = run_experiment(config, {dir / "exp", "quick"});
  EXPECT_EQ(again.runs_reused, 6);
  EXPECT_EQ(again.runs_trained, 0);
  EXPECT_EQ(nlohmann::json(again.summary.runs), nlohmann::json(s.runs));

  // Other settings in the same folder are refused, not mixed in.
  const ExperimentConfig other = load_experiment_config(
      "quick", std::nullopt,
      tiny({"experiment.arms=[imagenet, random, twin:random]", "optim.lr=0.5"}));
  EXPECT_THROW(run_experiment(other, {dir / "exp", "quick"}), UserError);
}

// Label fractions and test domains trained for real: the fraction runs in their own folders on
// a nested share of the scenes, domain tags from the configuration into result.json and
// summary.json, and the report's sections drawn from them.
TEST(ExperimentRunner, LabelFractionsAndTestDomainsReachTheSummary) {
  sarseg::testing::TempDir dir;
  const ExperimentConfig config = load_experiment_config(
      "quick", std::nullopt,
      tiny({"synth.train_per_season=2", "experiment.label_fractions=[0.5, 1.0]",
            "data.test_domains=[\"few-looks: looks=2\", \"noisy: noise_floor_db=8\"]",
            "experiment.seeds=[1, 2]"}));
  const ExperimentOutcome outcome = run_experiment(config, {dir / "exp", "quick"});
  const ExperimentSummary& s = outcome.summary;
  EXPECT_EQ(outcome.runs_trained, 8);
  ASSERT_EQ(s.runs.size(), 4u);
  ASSERT_EQ(s.fraction_runs.size(), 4u);
  // Full-label runs keep their folders; the halves have their own.
  EXPECT_TRUE(fs::exists(dir / "exp" / "imagenet" / "seed1" / "result.json"));
  EXPECT_TRUE(fs::exists(dir / "exp" / "random" / "labels0.5" / "seed2" / "result.json"));
  for (const auto& run : s.fraction_runs) {
    EXPECT_DOUBLE_EQ(run.label_fraction, 0.5);
    // Half of two scenes per season: one scene per season, so half the patches of an epoch.
    const RunResult* full = s.find_run(run.arm, run.seed);
    ASSERT_NE(full, nullptr);
    EXPECT_EQ(2 * run.curve.front().samples_seen, full->curve.front().samples_seen);
  }
  const auto doc = nlohmann::json::parse(read_file(dir / "exp" / "summary.json"));
  ASSERT_EQ(doc["domains"].size(), 2u);
  EXPECT_EQ(doc["domains"][0]["name"], "few-looks");
  EXPECT_EQ(doc["domains"][1]["name"], "noisy");
  EXPECT_EQ(doc["domains"][1]["scenes"], 2);  // the test split: one per season
  for (const auto* runs : {&doc["runs"], &doc["fraction_runs"]})
    for (const auto& run : *runs) {
      std::multiset<std::string> tags;
      for (const auto& e : run["evaluations"])
        tags.insert(e.value("domain", ""));
      EXPECT_EQ(tags,
                (std::multiset<std::string>{"", "", "few-looks", "few-looks", "noisy", "noisy"}));
      EXPECT_TRUE(run.contains("censored"));
    }
  const auto result = nlohmann::json::parse(
      read_file(dir / "exp" / "imagenet" / "labels0.5" / "seed1" / "result.json"));
  EXPECT_EQ(result["label_fraction"], 0.5);
  EXPECT_EQ(result["evaluations"][2]["domain"], "few-looks");
  ASSERT_EQ(doc["analysis"]["domains"].size(), 2u);
  EXPECT_NE(doc["analysis"]["domains"][0]["holds"]["question"].get<std::string>().find(
                "hold out of domain (few-looks"),
            std::string::npos);
  EXPECT_EQ(doc["analysis"]["label_efficiency"]["fractions"], nlohmann::json({0.5, 1.0}));
  const std::string html = read_file(dir / "exp" / "report.html");
  EXPECT_NE(html.find("id='label-efficiency'"), std::string::npos);
  EXPECT_NE(html.find("id='domains'"), std::string::npos);
  EXPECT_EQ(html.find("class='missing'"), std::string::npos);
  // The tiny settings cap training at 2 epochs of the quick profile's 28-epoch cosine cycle: the
  // schedule does not end there, so every run is censored, and summary.json says so.
  EXPECT_EQ(doc["analysis"]["censored_runs"].size(), 8u);
}

}  // namespace
}  // namespace sarseg::experiment
