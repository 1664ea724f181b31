// The experiment configuration and runner in process: what differs between arms, and the checks
// that must stop bad input before any training. A tiny experiment trained for real is in
// runner_training_test.cpp (label slow).
#include <gtest/gtest.h>

#include <algorithm>

#include "sarseg/experiment/config.h"
#include "sarseg/experiment/plan.h"
#include "sarseg/experiment/runner.h"
#include "sarseg/experiment/test_domains.h"
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
  ASSERT_GE(names.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 3),
            (std::vector<std::string>{"quick", "paper", "autoice"}));
  EXPECT_NE(std::find(names.begin(), names.end(), "labels"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "ssl"), names.end());
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
  expect_refused({"experiment.label_fractions=[0.5, 1.5]"}, "1.5 is not a share in (0, 1]");
  expect_refused({"experiment.label_fractions=[0]"}, "experiment.label_fractions: 0 is not");
  expect_refused({"experiment.label_fractions=[-0.25]"}, "(0, 1]");
  expect_refused({"data.test_domains=[\"odd: colour=3\"]"}, "unknown shift 'colour'");
  expect_refused({"data.test_domains=[\"few: looks=0.1\"]"}, "looks");
  expect_refused({"data.test_domains=[nameonly]"}, "NAME: SCENES");
}

TEST(ExperimentPlan, LabelFractionsAddRunsWithoutRenamingTheFullLabelOnes) {
  const ExperimentConfig plain = load_experiment_config("quick", std::nullopt, tiny({}));
  std::vector<std::string> ids;
  for (const auto& run : plan_runs(plain))
    ids.push_back(run.id());
  EXPECT_EQ(ids, (std::vector<std::string>{"imagenet:1", "random:1"}));
  const ExperimentConfig fractions = load_experiment_config(
      "quick", std::nullopt, tiny({"experiment.label_fractions=[0.25, 1.0, 0.5]"}));
  ids.clear();
  for (const auto& run : plan_runs(fractions))
    ids.push_back(run.id());
  EXPECT_EQ(ids, (std::vector<std::string>{"imagenet:1", "random:1", "imagenet:1:labels0.5",
                                           "random:1:labels0.5", "imagenet:1:labels0.25",
                                           "random:1:labels0.25"}));
  EXPECT_DOUBLE_EQ(parse_run_id(fractions, "random:1:labels0.25").label_fraction, 0.25);
  EXPECT_EQ(run_directory("out", "random", 1, 1.0), run_directory("out", "random", 1));
  EXPECT_EQ(run_directory("out", "random", 1, 0.25), fs::path("out/random/labels0.25/seed1"));
  // The quick and labels profiles end training by design: none of their runs is censored.
  for (const std::string profile : {"quick", "labels"}) {
    const ExperimentConfig c = load_experiment_config(profile, std::nullopt, {});
    EXPECT_TRUE(schedule_ends_at_budget(c.train)) << profile;
  }
  EXPECT_EQ(load_experiment_config("labels", std::nullopt, {}).experiment.label_fractions,
            (std::vector<double>{0.1, 0.25, 0.5, 1.0}));
  EXPECT_FALSE(schedule_ends_at_budget(load_experiment_config("paper", std::nullopt, {}).train));
}

TEST(ExperimentConfig, TestDomainsParseIntoShiftsInWords) {
  const ExperimentConfig c = load_experiment_config(
      "quick", std::nullopt,
      tiny({"data.test_domains=[\"few-looks: looks=4\", \"coarse: pixel_spacing_m=160 "
            "incidence=30-45\"]"}));
  const auto domains = parse_test_domains(c);
  ASSERT_EQ(domains.size(), 2u);
  EXPECT_EQ(domains[0].name, "few-looks");
  EXPECT_EQ(domains[0].description, "simulated test scenes with 4 looks");
  EXPECT_EQ(domains[1].description, "simulated test scenes with 160 m pixels, incidence 30-45 deg");
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
