// The runner on a tiny synthetic experiment: what differs between arms, paired data, the files
// it writes, and the checks that must stop bad input before any training.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sarseg/experiment/config.h"
#include "sarseg/experiment/runner.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {
namespace {

// A few seconds per run: 64-px scenes, 32-px patches, two epochs.
std::vector<std::string> tiny(std::vector<std::string> extra = {}) {
  std::vector<std::string> overrides = {"synth.size=64",
                                        "synth.train_per_season=1",
                                        "synth.val_per_season=1",
                                        "synth.test_per_season=1",
                                        "data.patch_size=32",
                                        "data.patches_per_scene=4",
                                        "data.val_patches_per_scene=2",
                                        "data.min_valid_fraction=0.2",
                                        "model.decoder_channels=[16, 8, 8, 8, 8]",
                                        "train.batch_size=4",
                                        "train.min_epochs=1",
                                        "train.max_epochs=2",
                                        "experiment.seeds=[1]",
                                        "inference.tile=64",
                                        "inference.overlap=0",
                                        "experiment.quicklook_size=32",
                                        "output.progress=off"};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  return overrides;
}

std::vector<std::string> lines_of(const std::string& text) {
  return split(text, '\n');
}

TEST(ExperimentConfig, ProfilesAreEmbedded) {
  const auto names = profile_names();
  EXPECT_EQ(names, (std::vector<std::string>{"quick", "paper", "autoice"}));
  for (const auto& name : names) {
    const ExperimentConfig config = load_experiment_config(name, std::nullopt, {});
    EXPECT_EQ(config.experiment.name, name);
  }
  const ExperimentConfig paper = load_experiment_config("paper", std::nullopt, {});
  EXPECT_EQ(paper.train.model.encoder, "resnet18");
  EXPECT_EQ(paper.train.data.patch_size, 768);
  EXPECT_EQ(paper.train.train.batch_size, 32);
  EXPECT_EQ(paper.experiment.seeds.size(), 5u);
  EXPECT_DOUBLE_EQ(paper.train.optim.lr, 1e-5);
  EXPECT_THROW(load_experiment_config("nonsense", std::nullopt, {}), UserError);
}

TEST(ExperimentConfig, BadArmsAreUserErrors) {
  EXPECT_THROW(load_experiment_config("quick", std::nullopt, {"experiment.arms=[imagenet, foo]"}),
               UserError);
  EXPECT_THROW(load_experiment_config(
                   "quick", std::nullopt,
                   {"experiment.arms=[imagenet, random]", "experiment.baseline_arm=frozen"}),
               UserError);
  const ArmSpec frozen = parse_arm("frozen:imagenet:all", "test", 30);
  EXPECT_EQ(frozen.init, "imagenet");
  EXPECT_EQ(frozen.freeze_encoder_epochs, 30);
  EXPECT_THROW(parse_arm("a/b:random", "test", 30), UserError);
}

TEST(ExperimentConfig, ArmsDifferOnlyInTheirInitialWeights) {
  const ExperimentConfig config = load_experiment_config("quick", std::nullopt, {});
  const auto arms = arms_of(config);
  const auto& schema = train::train_config_schema();
  const auto a = lines_of(schema.to_yaml(run_config(config, arms[0], 3, "out/run")));
  const auto b = lines_of(schema.to_yaml(run_config(config, arms[1], 3, "out/run")));
  ASSERT_EQ(a.size(), b.size());
  std::vector<std::string> differing;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) differing.push_back(a[i] + " | " + b[i]);
  ASSERT_EQ(differing.size(), 1u) << join(differing, "\n");
  EXPECT_NE(differing[0].find("init:"), std::string::npos) << differing[0];
  EXPECT_EQ(run_config(config, arms[0], 3, "x").train.seed, 3u);
}

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

TEST(ExperimentRunner, BadInputStopsBeforeAnyTraining) {
  sarseg::testing::TempDir dir;
  const auto expect_refused = [&](const std::vector<std::string>& extra, const std::string& what) {
    const fs::path out = dir / "refused";
    try {
      const ExperimentConfig config = load_experiment_config("quick", std::nullopt, tiny(extra));
      run_experiment(config, {out, "quick"});
      ADD_FAILURE() << "no error for " << what;
    } catch (const UserError& error) {
      EXPECT_NE(std::string(error.what()).find(what), std::string::npos) << error.what();
    }
    EXPECT_FALSE(fs::exists(out)) << "output written for " << what;
  };
  expect_refused({"experiment.arms=[imagenet, random, other:/nonexistent/w.safetensors]"}, "other");
  expect_refused({"synth.seasons=[freeze-up]"}, "melt");
  expect_refused({"synth.test_per_season=0"}, "test scenes");
}

}  // namespace
}  // namespace sarseg::experiment
