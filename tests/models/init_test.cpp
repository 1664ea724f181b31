// Random and pretrained initialisation, and the freeze options.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "sarseg/models/classifier.h"
#include "sarseg/models/model.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"
#include "sarseg/weights/state_dict.h"
#include "support/test_support.h"

namespace sarseg::models {
namespace {

std::map<std::string, torch::Tensor> state_of(torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> state;
  for (const auto& item : module.named_parameters())
    state[item.key()] = item.value().detach().clone();
  for (const auto& item : module.named_buffers())
    state[item.key()] = item.value().detach().clone();
  return state;
}

bool same_tensors(const std::map<std::string, torch::Tensor>& a,
                  const std::map<std::string, torch::Tensor>& b, const std::string& prefix) {
  for (const auto& [name, tensor] : a)
    if (starts_with(name, prefix) && !tensor.equal(b.at(name))) return false;
  return true;
}

TEST(Init, RandomInitIsDeterministicPerSeed) {
  ModelSpec spec;
  spec.encoder = "mobilenet_v2";
  spec.decoder = "unet";
  spec.in_channels = 2;
  const auto first = state_of(*build_model(spec));
  const auto again = state_of(*build_model(spec));
  EXPECT_TRUE(same_tensors(first, again, ""));
  spec.seed = 2;
  const auto other = state_of(*build_model(spec));
  EXPECT_FALSE(same_tensors(first, other, "encoder."));
  EXPECT_FALSE(same_tensors(first, other, "decoder."));
  // torchvision's init: BN gamma 1 / beta 0, conv std sqrt(2 / fan_out).
  EXPECT_TRUE(first.at("encoder.features.1.conv.2.weight").eq(1).all().item<bool>());
  const auto conv = first.at("encoder.features.2.conv.0.0.weight");  // 1x1 16 -> 96
  EXPECT_NEAR(conv.std().item<double>(), std::sqrt(2.0 / 96.0), 0.01);
}

TEST(Init, ImageNetWeightsFillTheEncoderOnly) {
  const auto weights_file =
      testing::shared_dir() / "pretrained" / "mobilenet_v2_1.0_224_imagenet_tv.safetensors";
  std::map<std::string, torch::Tensor> file;
  for (const auto& [name, tensor] : weights::read_safetensors(weights_file))
    file[name] = tensor;
  for (int64_t bands : {1, 3, 5}) {
    ModelSpec spec;
    spec.encoder = "mobilenet_v2";
    spec.decoder = "unet";
    spec.in_channels = bands;
    spec.init = "imagenet";
    auto model = build_model(spec);
    const auto random = state_of(*model);
    const auto report = initialise_encoder(model, spec);
    const auto loaded = state_of(*model);
    EXPECT_EQ(report.source, "mobilenet_v2.imagenet");
    EXPECT_EQ(report.loaded.size(), 260u);  // 262 minus classifier.1.weight/bias
    for (const auto& name : report.not_loaded)
      EXPECT_FALSE(starts_with(name, "encoder.")) << name;
    EXPECT_TRUE(std::find(report.not_loaded.begin(), report.not_loaded.end(),
                          "decoder.heads.0.weight") != report.not_loaded.end());
    // Decoder untouched (still the seeded random init), encoder equal to the file.
    EXPECT_TRUE(same_tensors(random, loaded, "decoder."));
    EXPECT_FALSE(same_tensors(random, loaded, "encoder."));
    EXPECT_TRUE(loaded.at("encoder.features.5.conv.1.0.weight")
                    .equal(file.at("features.5.conv.1.0.weight")));
    EXPECT_TRUE(
        loaded.at("encoder.features.18.1.running_var").equal(file.at("features.18.1.running_var")));
    const auto first_conv = loaded.at("encoder.features.0.0.weight");
    const auto source = file.at("features.0.0.weight");
    if (bands == 1) {
      EXPECT_TRUE(torch::allclose(first_conv, source.sum(1, true)));
      EXPECT_NE(report.first_conv_rule.find("sum"), std::string::npos);
    } else if (bands == 3) {
      EXPECT_TRUE(first_conv.equal(source));
      EXPECT_NE(report.first_conv_rule.find("unchanged"), std::string::npos);
    } else {
      EXPECT_TRUE(torch::allclose(first_conv.select(1, 4), source.select(1, 1) * 0.6));
      EXPECT_NE(report.first_conv_rule.find("3/5"), std::string::npos);
    }
  }
}

TEST(Init, ResNetFromATorchvisionStyleFileDropsFcAndLayer4) {
  testing::TempDir dir;
  torch::manual_seed(123);
  ImageNetClassifier classifier("resnet18", 1000);
  const auto file = dir / "resnet18_test.safetensors";
  weights::write_safetensors(file, weights::module_state(*classifier));
  ModelSpec spec;  // resnet18 + deeplabv3 (cut at layer3)
  spec.in_channels = 2;
  spec.init = file.string();
  auto model = build_model(spec);
  const auto random = state_of(*model);
  const auto report = initialise_encoder(model, spec);
  const auto loaded = state_of(*model);
  const auto reference = state_of(*classifier);
  EXPECT_EQ(report.source, file.string());
  EXPECT_TRUE(
      loaded.at("encoder.layer3.1.conv2.weight").equal(reference.at("layer3.1.conv2.weight")));
  EXPECT_TRUE(torch::allclose(loaded.at("encoder.conv1.weight").select(1, 1),
                              reference.at("conv1.weight").select(1, 1) * 1.5));
  for (const auto& name : report.loaded) {
    EXPECT_EQ(name.find("layer4"), std::string::npos) << name;
    EXPECT_EQ(name.find("fc."), std::string::npos) << name;
  }
  for (const auto& name : report.not_loaded)
    EXPECT_FALSE(starts_with(name, "encoder.")) << name;
  EXPECT_TRUE(same_tensors(random, loaded, "decoder."));
  // Random init differs from the pretrained one.
  EXPECT_FALSE(
      random.at("encoder.layer1.0.conv1.weight").equal(loaded.at("encoder.layer1.0.conv1.weight")));
}

TEST(Init, RandomReportsEverythingNotLoadedAndBadInitIsAUserError) {
  ModelSpec spec;
  auto model = build_model(spec);
  const auto report = initialise_encoder(model, spec);
  EXPECT_TRUE(report.loaded.empty());
  EXPECT_EQ(report.not_loaded.size(), model->parameters().size());
  spec.init = "no_such_weights.safetensors";
  EXPECT_THROW(initialise_encoder(model, spec), UserError);
  spec.init = "mobilenet_v2.imagenet";  // wrong architecture for resnet18
  EXPECT_THROW(initialise_encoder(model, spec), UserError);
}

TEST(Freeze, FrozenEncoderGetsNoGradients) {
  ModelSpec spec;
  spec.encoder = "mobilenet_v2";
  spec.decoder = "unet";
  spec.freeze_encoder = true;
  auto model = build_model(spec);
  model->train();
  model->forward(torch::randn({2, 3, 32, 64})).mean().backward();
  for (const auto& item : model->named_parameters()) {
    if (starts_with(item.key(), "encoder."))
      EXPECT_FALSE(item.value().grad().defined()) << item.key();
    else
      EXPECT_TRUE(item.value().grad().defined()) << item.key();
  }
}

TEST(Freeze, FrozenEncoderBatchNormKeepsItsStatistics) {
  ModelSpec spec;
  spec.freeze_encoder_bn = true;
  auto model = build_model(spec);
  model->train();
  EXPECT_TRUE(model->is_training());
  const auto before = state_of(*model);
  auto optimizer = torch::optim::SGD(model->parameters(), torch::optim::SGDOptions(0.01));
  optimizer.zero_grad();
  model->forward(torch::randn({2, 3, 64, 96}) * 3 + 1).mean().backward();
  optimizer.step();
  const auto after = state_of(*model);
  EXPECT_TRUE(after.at("encoder.bn1.running_mean").equal(before.at("encoder.bn1.running_mean")));
  EXPECT_TRUE(after.at("encoder.layer2.0.bn1.running_var")
                  .equal(before.at("encoder.layer2.0.bn1.running_var")));
  EXPECT_FALSE(
      after.at("decoder.block.1.running_mean").equal(before.at("decoder.block.1.running_mean")));
  // The encoder still learns (only its statistics are frozen).
  EXPECT_FALSE(after.at("encoder.conv1.weight").equal(before.at("encoder.conv1.weight")));
  model->set_encoder_bn_frozen(false);
  model->forward(torch::randn({2, 3, 64, 96}) * 3 + 1);
  EXPECT_FALSE(
      state_of(*model).at("encoder.bn1.running_mean").equal(after.at("encoder.bn1.running_mean")));
}

}  // namespace
}  // namespace sarseg::models
