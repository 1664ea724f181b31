// A tiny synthetic experiment trained for real (several seconds, label slow): paired data across
// arms, the files the runner writes, reuse of finished runs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace sarseg::experiment
