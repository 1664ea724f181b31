// The C++ models against tensors computed by torchvision (Python) on the same weights.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "sarseg/models/classifier.h"
#include "sarseg/models/model.h"
#include "sarseg/util/strings.h"
#include "sarseg/weights/state_dict.h"
#include "support/test_support.h"

namespace sarseg::models {
namespace {

std::map<std::string, torch::Tensor> as_map(const weights::StateDict& tensors) {
  return {tensors.begin(), tensors.end()};
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<double>();
}

TEST(Golden, MobileNetV2ClassifierAndTapsMatchTorchvision) {
  const auto dir = testing::shared_dir() / "pretrained";
  ImageNetClassifier classifier("mobilenet_v2", 1000);
  const auto state =
      weights::read_safetensors(dir / "mobilenet_v2_1.0_224_imagenet_tv.safetensors");
  const auto result = load_classifier_weights(*classifier, state, "mobilenet_v2 weights");
  EXPECT_EQ(result.loaded.size(), 262u);
  classifier->eval();
  auto golden = as_map(weights::read_safetensors(dir / "golden_mobilenet_v2_cat224.safetensors"));
  torch::NoGradGuard no_grad;
  const auto input = golden.at("input");
  EXPECT_LT(max_abs_diff(classifier->forward(input), golden.at("logits_torchpad")), 1e-4);
  const auto taps = classifier->encoder_features(input);
  ASSERT_EQ(taps.size(), 6u);
  const char* names[5] = {"feat_s2", "feat_s4", "feat_s8", "feat_s16", "feat_s32"};
  for (int i = 0; i < 5; ++i)
    EXPECT_LT(max_abs_diff(taps[i + 1], golden.at(names[i])), 1e-4) << names[i];
  // The same weights through the segmentation model's encoder (init from the weight set).
  ModelSpec spec;
  spec.encoder = "mobilenet_v2";
  spec.decoder = "unet";
  spec.init = "mobilenet_v2.imagenet";
  auto model = build_model(spec);
  initialise_encoder(model, spec);
  model->eval();
  const auto features = model->encoder_features(input);
  EXPECT_LT(max_abs_diff(features[5], golden.at("feat_s32")), 1e-4);
}

TEST(Golden, PaperModelResnet18DeepLabV3MatchesTorchvision) {
  const auto file = testing::shared_dir() / "golden" / "paper_model_resnet18_deeplabv3.safetensors";
  ModelSpec spec;  // defaults: resnet18 + deeplabv3, layer3, ASPP 12/24/36, AvgPool2d(2)
  auto model = build_model(spec);
  // torchvision names -> sarseg names.
  weights::StateDict mapped;
  std::map<std::string, torch::Tensor> golden;
  for (const auto& [name, tensor] : weights::read_safetensors(file)) {
    std::string target;
    if (starts_with(name, "golden.")) {
      golden[name] = tensor;
      continue;
    } else if (starts_with(name, "backbone.")) {
      target = "encoder." + name.substr(9);
    } else if (starts_with(name, "head.0.")) {
      target = "decoder.aspp." + name.substr(7);
    } else if (starts_with(name, "head.1.")) {
      target = "decoder.block.0." + name.substr(7);
    } else if (starts_with(name, "head.2.")) {
      target = "decoder.block.1." + name.substr(7);
    } else if (starts_with(name, "head.4.")) {
      target = "decoder.heads.0." + name.substr(7);
    } else {
      FAIL() << "unexpected tensor " << name;
    }
    mapped.emplace_back(target, tensor);
  }
  const auto result = weights::load_state(*model, mapped, /*strict=*/false, file.string());
  EXPECT_TRUE(result.unexpected.empty()) << result.unexpected.front();
  for (const auto& name : result.missing)
    EXPECT_TRUE(ends_with(name, "num_batches_tracked")) << name;
  model->eval();
  torch::NoGradGuard no_grad;
  const auto input = golden.at("golden.input");
  const auto features = model->encoder_features(input);
  ASSERT_EQ(features.size(), 5u);
  EXPECT_LT(max_abs_diff(features[4], golden.at("golden.features")), 1e-4);
  const auto logits = model->forward(input);
  EXPECT_LT(max_abs_diff(logits, golden.at("golden.logits")), 1e-4);
}

}  // namespace
}  // namespace sarseg::models
