#include <gtest/gtest.h>

#include <fstream>

#include "sarseg/models/decoders.h"
#include "sarseg/train/config.h"
#include "sarseg/train/optimizers.h"
#include "sarseg/train/scheduler.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"
#include "support/test_support.h"

using namespace sarseg;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(TrainConfig, DefaultsAreThePaperProtocol) {
  const train::TrainConfig c;
  EXPECT_EQ(c.model.encoder, "resnet18");
  EXPECT_EQ(c.model.decoder, "deeplabv3");
  EXPECT_EQ(c.data.patch_size, 768);
  EXPECT_EQ(c.data.patches_per_scene, 200);
  EXPECT_FALSE(c.data.resample_every_epoch);
  EXPECT_EQ(c.train.batch_size, 32);
  EXPECT_EQ(c.optim.name, "adam");
  EXPECT_DOUBLE_EQ(c.optim.lr, 1e-5);
  EXPECT_EQ(c.schedule.plateau_patience, 5);
  EXPECT_EQ(c.train.patience, 20);
  EXPECT_EQ(c.train.max_epochs, 300);
  EXPECT_FALSE(c.data.flips || c.data.rot90 || c.data.scale > 0);
  EXPECT_NO_THROW(train::validate(c));
}

TEST(TrainConfig, DefaultsRoundTripThroughYaml) {
  const auto& schema = train::train_config_schema();
  const train::TrainConfig defaults;
  const std::string yaml = schema.to_yaml(defaults, "header\nsecond line");
  train::TrainConfig loaded;
  loaded.optim.lr = 123;  // overwritten by the file
  schema.load_yaml_text(loaded, yaml, "round-trip");
  EXPECT_EQ(schema.to_yaml(loaded, "header\nsecond line"), yaml);
  for (const auto& key : schema.keys())
    EXPECT_EQ(key.get(defaults), key.default_text) << key.name;
  EXPECT_GT(schema.keys().size(), 50u);
}

TEST(TrainConfig, NonDefaultValuesRoundTrip) {
  const auto& schema = train::train_config_schema();
  train::TrainConfig c;
  schema.apply_overrides(
      c, {"data.tasks=[SIC:11:mse:2, SOD:6:ce:3, FLOE:7]", "data.bands=hh_db,hv_db", "optim.lr=0.1",
          "data.train=[a b.nc, c.txt]", "output.dir=runs/x: y # z", "loss.class_weights=[]"});
  train::TrainConfig back;
  schema.load_yaml_text(back, schema.to_yaml(c), "round-trip");
  EXPECT_EQ(back.data.tasks, c.data.tasks);
  EXPECT_EQ(back.data.bands, (std::vector<std::string>{"hh_db", "hv_db"}));
  EXPECT_EQ(back.data.train, (std::vector<std::string>{"a b.nc", "c.txt"}));
  EXPECT_EQ(back.output.dir, "runs/x: y # z");
  EXPECT_DOUBLE_EQ(back.optim.lr, 0.1);
  EXPECT_TRUE(back.loss.class_weights.empty());
}

TEST(TrainConfig, YamlThenSetOverrides) {
  sarseg::testing::TempDir dir;
  const auto path = dir / "train.yaml";
  std::ofstream(path) << "model:\n  encoder: mobilenet_v2\n  decoder: unet\n"
                         "optim:\n  lr: 3e-4\n  name: sgd\n"
                         "data:\n  bands: [hh_db, hv_db]\n  patch_size: 256\n";
  const auto c = train::load_train_config(path, {"optim.lr=0.01", "train.batch_size=8"});
  EXPECT_EQ(c.model.encoder, "mobilenet_v2");
  EXPECT_EQ(c.optim.name, "sgd");
  EXPECT_DOUBLE_EQ(c.optim.lr, 0.01);  // --set wins over the file
  EXPECT_EQ(c.train.batch_size, 8);
  EXPECT_EQ(c.data.bands.size(), 2u);
  EXPECT_EQ(c.data.patch_size, 256);
  EXPECT_EQ(c.model.dropout, 0.5);  // untouched default
}

TEST(TrainConfig, UnknownKeysNameTheClosestValidKeys) {
  const auto message = error_of([] { train::load_train_config(std::nullopt, {"optim.lrr=1"}); });
  EXPECT_NE(message.find("optim.lrr"), std::string::npos);
  EXPECT_NE(message.find("did you mean optim.lr"), std::string::npos);
  sarseg::testing::TempDir dir;
  std::ofstream(dir / "bad.yaml") << "train:\n  batchsize: 4\n";
  const auto from_file = error_of([&] { train::load_train_config(dir / "bad.yaml", {}); });
  EXPECT_NE(from_file.find("train.batchsize"), std::string::npos);
  EXPECT_NE(from_file.find("train.batch_size"), std::string::npos);
  EXPECT_NE(from_file.find("bad.yaml"), std::string::npos);
}

TEST(TrainConfig, BadValuesNameTheKey) {
  EXPECT_NE(error_of([] {
              train::load_train_config(std::nullopt, {"train.batch_size=abc"});
            }).find("train.batch_size"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              train::load_train_config(std::nullopt, {"optim.name=rmsprop"});
            }).find("adam, adamw, sgd"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              train::load_train_config(std::nullopt, {"train.batch_size=0"});
            }).find("train.batch_size"),
            std::string::npos);
  EXPECT_NE(error_of([] { train::load_train_config(std::nullopt, {"optim.lr"}); }).find("--set"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              train::load_train_config(std::nullopt, {"data.flips=maybe"});
            }).find("data.flips"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              train::load_train_config(std::nullopt, {"data.cutmix_probability=1.5"});
            }).find("data.cutmix_probability must be between 0 and 1"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              train::load_train_config(std::nullopt, {"data.cutmix_beta=0"});
            }).find("data.cutmix_beta must be positive"),
            std::string::npos);
  const auto monitor =
      error_of([] { train::load_train_config(std::nullopt, {"train.monitor=val_weighted_f"}); });
  EXPECT_NE(monitor.find("val_weighted_f1"), std::string::npos);
  EXPECT_NO_THROW(train::load_train_config(
      std::nullopt, {"data.tasks=[SIC:11:mse, SOD:6, FLOE:7]", "train.monitor=val_combined"}));
  EXPECT_FALSE(error_of([] { train::load_train_config("/no/such/file.yaml", {}); }).empty());
  sarseg::testing::TempDir dir;
  std::ofstream(dir / "broken.yaml") << "model: [unclosed\n";
  EXPECT_NE(
      error_of([&] { train::load_train_config(dir / "broken.yaml", {}); }).find("broken.yaml"),
      std::string::npos);
}

TEST(TrainConfig, TheModelSectionIsAModelSpec) {
  // One set of defaults: those of models::ModelSpec.
  const train::TrainConfig defaults;
  const models::ModelSpec spec;
  const models::ModelSpec& section = defaults.model;
  EXPECT_EQ(section.encoder, spec.encoder);
  EXPECT_EQ(section.decoder_channels, spec.decoder_channels);
  EXPECT_EQ(section.aspp_rates, spec.aspp_rates);
  EXPECT_EQ(defaults.model.freeze_encoder_epochs, 0);

  // Every model key reaches the model spec; the other sections decide bands, heads and seed.
  const auto c = train::load_train_config(
      std::nullopt,
      {"model.encoder=mobilenet_v2", "model.decoder=unet", "model.init=imagenet",
       "model.encoder_depth=3", "model.decoder_channels=[8, 4, 2]", "model.aspp_channels=32",
       "model.aspp_rates=[2, 4]", "model.aspp_pool=4", "model.dropout=0.25",
       "model.freeze_encoder_epochs=2", "model.freeze_encoder_bn=true", "data.bands=hh_db,hv_db",
       "data.tasks=[SIC:11:mse, SOD:6]", "train.seed=7"});
  const auto m = train::model_spec_of(c);
  EXPECT_EQ(m.encoder, "mobilenet_v2");
  EXPECT_EQ(m.decoder, "unet");
  EXPECT_EQ(m.init, "imagenet");
  EXPECT_EQ(m.encoder_depth, 3);
  EXPECT_EQ(m.decoder_channels, (std::vector<int64_t>{8, 4, 2}));
  EXPECT_EQ(m.aspp_channels, 32);
  EXPECT_EQ(m.aspp_rates, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(m.aspp_pool, 4);
  EXPECT_DOUBLE_EQ(m.dropout, 0.25);
  EXPECT_TRUE(m.freeze_encoder);
  EXPECT_TRUE(m.freeze_encoder_bn);
  EXPECT_EQ(m.in_channels, 2);
  EXPECT_EQ(m.seed, 7u);
  ASSERT_EQ(m.heads.size(), 2u);
  EXPECT_EQ(m.heads[0].name, "SIC");
  EXPECT_EQ(m.heads[0].outputs, 1);
  EXPECT_TRUE(m.heads[0].regression);
  EXPECT_EQ(m.heads[1].name, "SOD");
  EXPECT_EQ(m.heads[1].outputs, 6);
  EXPECT_FALSE(m.heads[1].regression);
}

TEST(TrainConfig, ChoicesComeFromTheRegistries) {
  const auto& schema = train::train_config_schema();
  ASSERT_NE(schema.find("model.decoder"), nullptr);
  EXPECT_EQ(schema.find("model.decoder")->choices, models::decoder_names());
  // The default depth of every decoder is in the help of model.encoder_depth.
  for (const auto& info : models::decoder_registry())
    EXPECT_NE(schema.find("model.encoder_depth")
                  ->help.find(info.name + " " + std::to_string(info.default_encoder_depth)),
              std::string::npos)
        << info.name;
  EXPECT_EQ(schema.find("optim.name")->choices, train::optimizer_names());
  EXPECT_EQ(schema.find("schedule.name")->choices, train::schedule_names());
  for (const auto& info : train::optimizer_registry())
    EXPECT_NE(schema.find("optim.name")->help.find(info.description), std::string::npos);
  for (const auto& info : train::schedule_registry())
    EXPECT_NE(schema.find("schedule.name")->help.find(info.description), std::string::npos);
  const auto decoder =
      error_of([] { train::load_train_config(std::nullopt, {"model.decoder=fpn"}); });
  EXPECT_NE(decoder.find("model.decoder"), std::string::npos) << decoder;
  EXPECT_NE(decoder.find(join(models::decoder_names(), ", ")), std::string::npos) << decoder;
}

TEST(TrainConfig, HelpListsEveryKeyWithItsDefault) {
  const auto& schema = train::train_config_schema();
  const std::string help = schema.help_text();
  for (const auto& key : schema.keys())
    EXPECT_NE(help.find(key.name + " = " + key.default_text), std::string::npos) << key.name;
}

namespace {
struct Extra {
  int64_t seeds = 5;
  std::vector<std::string> arms = {"imagenet", "random"};
};
struct Study {
  train::TrainConfig train;
  Extra experiment;
};
}  // namespace

TEST(ConfigSchema, AnotherModuleCanExtendTheTrainingSchema) {
  config::ConfigSchema<Study> schema;
  schema.include(
      train::train_config_schema(), [](Study & s) -> auto& { return s.train; });
  schema.add(
      "experiment.seeds", [](Study & s) -> auto& { return s.experiment.seeds; }, "seeds per arm");
  schema.add("experiment.arms", [](Study & s) -> auto& { return s.experiment.arms; }, "arms",
             {"imagenet", "random"});
  Study study;
  schema.load_yaml_text(study, "experiment:\n  seeds: 3\noptim:\n  lr: 0.5\n", "study.yaml");
  EXPECT_EQ(study.experiment.seeds, 3);
  EXPECT_DOUBLE_EQ(study.train.optim.lr, 0.5);
  EXPECT_THROW(schema.apply_overrides(study, {"experiment.arms=[imagenet, other]"}), UserError);
  EXPECT_NE(error_of([&] {
              schema.apply_overrides(study, {"experiment.seed=2"});
            }).find("experiment.seeds"),
            std::string::npos);
  // The included validation still runs.
  study.train.train.batch_size = -1;
  EXPECT_THROW(schema.validate(study), UserError);
  EXPECT_NE(schema.to_yaml(study).find("experiment:\n  seeds: 3"), std::string::npos);
}
