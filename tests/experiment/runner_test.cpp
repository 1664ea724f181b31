// The experiment configuration and runner in process: what differs between arms, and the checks
// that must stop bad input before any training. A tiny experiment trained for real is in
// runner_training_test.cpp (label slow).
#include <gtest/gtest.h>

#include "sarseg/experiment/config.h"
#include "sarseg/experiment/runner.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"
#include "support/test_support.h"
#include "tiny_experiment.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {
namespace {

using testing::tiny;

std::vector<std::string> lines_of(const std::string& text) {
  return split(text, '\n');
}

TEST(ExperimentConfig, ProfilesAreEmbedded) {
  const auto names = profile_names();
  EXPECT_EQ(names, (std::vector<std::string>{"quick", "paper", "autoice", "ssl"}));
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

// An ssl arm needs scenes to pretrain on: without usable ones nothing is trained or written.
TEST(ExperimentRunner, SslArmWithoutUsableScenesStopsBeforeAnyTraining) {
  const ArmSpec ssl = parse_arm("ssl", "test", 10);
  EXPECT_EQ(ssl.init, "ssl");
  sarseg::testing::TempDir dir;
  const auto expect_refused = [&](const std::vector<std::string>& extra, const std::string& what) {
    const fs::path out = dir / "refused";
    std::vector<std::string> keys = {"experiment.arms=[imagenet, random, ssl]"};
    keys.insert(keys.end(), extra.begin(), extra.end());
    try {
      run_experiment(load_experiment_config("quick", std::nullopt, tiny(keys)), {out, "quick"});
      ADD_FAILURE() << "no error for " << what;
    } catch (const UserError& error) {
      EXPECT_NE(std::string(error.what()).find(what), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find("ssl arm"), std::string::npos) << error.what();
    }
    EXPECT_FALSE(fs::exists(out)) << "output written for " << what;
  };
  // The training scenes are too small to give a single region, and nothing else is listed.
  expect_refused({"ssl.region_size=500"}, "data.unlabelled");
  // The view does not fit the model.
  expect_refused({"ssl.region_size=48", "ssl.view_size=40"}, "ssl.view_size");
  // A listed unlabelled scene that does not exist.
  try {
    run_experiment(load_experiment_config("quick", std::nullopt,
                                          tiny({"experiment.arms=[imagenet, random, ssl]",
                                                "data.unlabelled=[/nonexistent/scene.tif]"})),
                   {dir / "missing", "quick"});
    ADD_FAILURE() << "no error for a missing unlabelled scene";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("data.unlabelled"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(fs::exists(dir / "missing"));
}

}  // namespace
}  // namespace sarseg::experiment
