// The ssl arm in a tiny synthetic experiment trained for real (label slow): pretraining once, the
// arm fine-tuning its weights, the cost and verdicts in the summary, reuse on a restart.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sarseg/experiment/config.h"
#include "sarseg/experiment/runner.h"
#include "sarseg/experiment/ssl.h"
#include "sarseg/util/atomic_file.h"
#include "support/test_support.h"
#include "tiny_experiment.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {
namespace {

using testing::tiny;

TEST(SslExperiment, PretrainsOnceAndJudgesTheThirdArm) {
  sarseg::testing::TempDir dir;
  const ExperimentConfig config = load_experiment_config(
      "ssl", std::nullopt,
      tiny({"experiment.seeds=[1, 2]", "ssl.epochs=2", "ssl.samples_per_epoch=16",
            "ssl.batch_size=8", "ssl.region_size=48", "ssl.view_size=32", "ssl.projector_hidden=32",
            "ssl.projector_dim=32", "ssl.monitor_samples=16",
            "ssl.synthetic_unlabelled_per_season=1"}));
  const fs::path out = dir / "exp";
  const ExperimentOutcome outcome = run_experiment(config, {out, "ssl"});
  const ExperimentSummary& s = outcome.summary;
  ASSERT_EQ(s.runs.size(), 6u);
  ASSERT_TRUE(s.pretraining.has_value());
  EXPECT_EQ(s.pretraining->epochs, 2);
  EXPECT_EQ(s.pretraining->samples_seen, 32);
  EXPECT_EQ(s.pretraining->scenes, 4);  // 2 training + 2 extra simulated scenes
  EXPECT_GT(s.pretraining->wall_seconds, 0.0);
  EXPECT_EQ(s.pretraining->effective_rank.size(), 3u);
  EXPECT_GE(s.total_seconds, s.pretraining->wall_seconds);
  const fs::path weights = ssl_weights_path(out);
  ASSERT_TRUE(fs::exists(weights));

  // Every ssl run started from the pretrained file; the others did not.
  for (int64_t seed : {1, 2}) {
    const std::string ssl_config = read_file(run_directory(out, "ssl", seed) / "config.yaml");
    EXPECT_NE(ssl_config.find(weights.string()), std::string::npos) << seed;
    const std::string random_config = read_file(run_directory(out, "random", seed) / "config.yaml");
    EXPECT_EQ(random_config.find(weights.string()), std::string::npos) << seed;
    EXPECT_NE(s.find_run("ssl", seed)->curve[0].train_loss,
              s.find_run("random", seed)->curve[0].train_loss);
  }

  // Verdicts computed from the data, the cost in summary.json and the report.
  const auto document = nlohmann::json::parse(read_file(out / "summary.json"));
  ASSERT_TRUE(document.contains("pretraining"));
  EXPECT_EQ(document["pretraining"]["samples_seen"], 32);
  std::vector<std::string> questions;
  for (const auto& v : document["analysis"]["verdicts"])
    questions.push_back(v["question"]);
  const auto has = [&](const std::string& text) {
    return std::any_of(questions.begin(), questions.end(),
                       [&](const std::string& q) { return q.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has("beat random initialisation")) << nlohmann::json(questions).dump();
  EXPECT_TRUE(has("beat ImageNet")) << nlohmann::json(questions).dump();
  const std::string md = read_file(out / "report.md");
  EXPECT_NE(md.find("Self-supervised SAR pretraining"), std::string::npos);
  EXPECT_NE(md.find("samples seen"), std::string::npos);
  EXPECT_NE(read_file(out / "report.html").find("Self-supervised SAR pretraining"),
            std::string::npos);

  // A restart reuses the pretraining and every run.
  const auto written = fs::last_write_time(weights);
  const ExperimentOutcome again = run_experiment(config, {out, "ssl"});
  EXPECT_EQ(again.runs_reused, 6);
  EXPECT_EQ(fs::last_write_time(weights), written);
  ASSERT_TRUE(again.summary.pretraining.has_value());
  EXPECT_EQ(again.summary.pretraining->samples_seen, 32);
}

}  // namespace
}  // namespace sarseg::experiment
