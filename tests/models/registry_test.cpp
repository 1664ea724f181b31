// Encoder and decoder registries, torchvision names and sizes, input-size checks, FLOP counting.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "sarseg/models/classifier.h"
#include "sarseg/models/decoders.h"
#include "sarseg/models/encoders.h"
#include "sarseg/models/flop_counter.h"
#include "sarseg/models/model.h"
#include "sarseg/util/error.h"

namespace sarseg::models {
namespace {

int64_t parameter_count(torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& p : module.parameters())
    count += p.numel();
  return count;
}

std::string user_error_message(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no UserError)";
}

TEST(Registry, ClassifiersHaveTorchvisionParameterCountsAndNames) {
  // Parameter counts of torchvision's models (torchvision.models.*().parameters()).
  const std::vector<std::pair<std::string, int64_t>> expected = {{"resnet18", 11689512},
                                                                 {"resnet34", 21797672},
                                                                 {"resnet50", 25557032},
                                                                 {"mobilenet_v2", 3504872}};
  for (const auto& [name, count] : expected) {
    ImageNetClassifier classifier(name, 1000);
    EXPECT_EQ(parameter_count(*classifier), count) << name;
  }
  ImageNetClassifier resnet50("resnet50", 1000);
  const auto params = resnet50->named_parameters();
  for (const char* name :
       {"conv1.weight", "bn1.bias", "layer1.0.downsample.0.weight", "layer1.0.downsample.1.weight",
        "layer4.2.conv3.weight", "layer4.2.bn3.weight", "fc.weight", "fc.bias"})
    EXPECT_NE(params.find(name), nullptr) << name;
  EXPECT_NE(resnet50->named_buffers().find("layer3.5.bn2.running_var"), nullptr);
}

TEST(Registry, EncoderFeaturesFollowTheSmpDepthContract) {
  for (const auto& info : encoder_registry()) {
    auto encoder = build_encoder(info.name, 2, 5);
    torch::NoGradGuard no_grad;
    encoder->eval();
    const auto features = encoder->forward(torch::randn({1, 2, 64, 96}));
    ASSERT_EQ(features.size(), 6u) << info.name;
    // features[0] is the input, or the full-resolution input block of a plain U-Net.
    EXPECT_EQ(features[0].size(1), info.stem_channels > 0 ? info.stem_channels : 2) << info.name;
    EXPECT_EQ(features[0].size(2), 64) << info.name;
    for (size_t stage = 1; stage < 6; ++stage) {
      const int64_t reduction = info.reductions[stage - 1];
      EXPECT_EQ(features[stage].size(1), info.stage_channels[stage - 1]) << info.name << stage;
      EXPECT_EQ(features[stage].size(2), 64 / reduction) << info.name << stage;
      EXPECT_EQ(features[stage].size(3), 96 / reduction) << info.name << stage;
    }
    EXPECT_EQ(encoder->out_channels().size(), 6u);
    // Every torchvision backbone has its ImageNet set; the plain U-Net has none.
    EXPECT_EQ(info.default_weight_set, info.name == "plain_unet" ? "" : info.name + ".imagenet");
  }
  // A deeplabv3 cut at layer3 has no layer4 parameters.
  ModelSpec spec;
  auto model = build_model(spec);
  for (const auto& item : model->named_parameters())
    EXPECT_EQ(item.key().find("layer4"), std::string::npos) << item.key();
  EXPECT_EQ(model->spec().encoder_depth, 4);
}

TEST(Registry, UnknownNamesListTheValidOnes) {
  ModelSpec spec;
  spec.encoder = "resnet19";
  const auto encoder_message = user_error_message([&] { build_model(spec); });
  EXPECT_NE(encoder_message.find("resnet19"), std::string::npos);
  EXPECT_NE(encoder_message.find("resnet18, resnet34, resnet50, mobilenet_v2"), std::string::npos)
      << encoder_message;
  spec.encoder = "resnet18";
  spec.decoder = "fpn";
  const auto decoder_message = user_error_message([&] { build_model(spec); });
  EXPECT_NE(decoder_message.find("deeplabv3, unet"), std::string::npos) << decoder_message;
  spec.decoder = "unet";
  spec.encoder_depth = 6;
  EXPECT_THROW(build_model(spec), UserError);
}

TEST(DecoderRegistry, EntriesGiveNamesDefaultDepthsAndBuilders) {
  const auto& registry = decoder_registry();
  ASSERT_EQ(registry.size(), 3u);
  std::vector<std::string> names;
  for (const auto& info : registry) {
    names.push_back(info.name);
    EXPECT_FALSE(info.description.empty()) << info.name;
    ASSERT_TRUE(static_cast<bool>(info.build)) << info.name;
    EXPECT_EQ(&find_decoder(info.name), &info);
    EXPECT_EQ(default_encoder_depth(info.name), info.default_encoder_depth);
    // encoder_depth 0 takes the entry's default.
    ModelSpec spec;
    spec.decoder = info.name;
    EXPECT_EQ(resolve_spec(spec).encoder_depth, info.default_encoder_depth) << info.name;
  }
  EXPECT_EQ(names, decoder_names());
  EXPECT_EQ(names, (std::vector<std::string>{"deeplabv3", "unet", "plain_unet"}));
  EXPECT_EQ(find_decoder("deeplabv3").default_encoder_depth, 4);
  EXPECT_EQ(find_decoder("unet").default_encoder_depth, 5);
  EXPECT_EQ(find_decoder("plain_unet").default_encoder_depth, 4);
  // int8 inference mirrors the deeplabv3 layers only.
  EXPECT_TRUE(find_decoder("deeplabv3").int8_supported);
  EXPECT_FALSE(find_decoder("unet").int8_supported);
  EXPECT_FALSE(find_decoder("plain_unet").int8_supported);
  const auto message = user_error_message([] { find_decoder("fpn"); });
  EXPECT_NE(message.find("unknown decoder 'fpn'"), std::string::npos) << message;
  EXPECT_NE(message.find("use one of deeplabv3, unet, plain_unet"), std::string::npos) << message;
  EXPECT_THROW(default_encoder_depth("fpn"), UserError);
}

TEST(Registry, BadInputSizesNameTheNearestValidSize) {
  ModelSpec spec;  // resnet18 + deeplabv3: stride 16, AvgPool2d(2) -> multiples of 32
  auto model = build_model(spec);
  EXPECT_EQ(model->size_multiple(), 32);
  const auto message = user_error_message([&] { model->check_input_size(70, 100); });
  EXPECT_NE(message.find("70x100"), std::string::npos) << message;
  EXPECT_NE(message.find("multiples of 32"), std::string::npos) << message;
  EXPECT_NE(message.find("nearest valid size 64x96"), std::string::npos) << message;
  EXPECT_NE(message.find("larger: 96x128"), std::string::npos) << message;
  EXPECT_NO_THROW(model->check_input_size(64, 96));
  EXPECT_THROW(model->forward(torch::zeros({1, 3, 48, 64})), UserError);
  EXPECT_THROW(model->forward(torch::zeros({1, 2, 64, 64})), UserError);  // wrong band count
  spec.decoder = "unet";
  spec.encoder_depth = 3;
  auto shallow = build_model(spec);
  EXPECT_EQ(shallow->size_multiple(), 8);
  const auto unet_message = user_error_message([&] { shallow->check_input_size(3, 21); });
  EXPECT_NE(unet_message.find("nearest valid size 8x24"), std::string::npos) << unet_message;
}

TEST(FirstConv, SmpPatchFirstConvRule) {
  const auto weight = torch::randn({4, 3, 3, 3});
  std::string rule;
  EXPECT_TRUE(adapt_first_conv_weight(weight, 3, &rule).equal(weight));
  const auto one = adapt_first_conv_weight(weight, 1, &rule);
  EXPECT_TRUE(torch::allclose(one, weight.sum(1, true)));
  EXPECT_NE(rule.find("sum"), std::string::npos);
  const auto five = adapt_first_conv_weight(weight, 5, &rule);
  ASSERT_EQ(five.size(1), 5);
  for (int64_t band = 0; band < 5; ++band)
    EXPECT_TRUE(torch::allclose(five.select(1, band), weight.select(1, band % 3) * 0.6));
  EXPECT_NE(rule.find("3/5"), std::string::npos) << rule;
  const auto two = adapt_first_conv_weight(weight, 2, &rule);
  EXPECT_TRUE(torch::allclose(two.select(1, 1), weight.select(1, 1) * 1.5));
}

TEST(Flops, CountsConvolutionsAndLinearLayers) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 8, 3).padding(1).stride(2));
  torch::nn::Linear linear(10, 5);
  const auto count = count_flops([&] {
    conv->forward(torch::randn({2, 3, 10, 12}));
    linear->forward(torch::randn({4, 10}));
  });
  EXPECT_EQ(count.convolution_calls, 1);
  EXPECT_DOUBLE_EQ(count.convolution, 2.0 * 2 * 8 * (5 * 6) * (3 * 3 * 3));
  EXPECT_EQ(count.matmul_calls, 1);
  EXPECT_DOUBLE_EQ(count.matmul, 2.0 * 4 * 10 * 5);
  // torchvision's ResNet-18 at 224x224: 1.814 GMACs (convolutions + fc) = 3.63 GFLOPs.
  ImageNetClassifier resnet18("resnet18", 1000);
  resnet18->eval();
  torch::NoGradGuard no_grad;
  const auto whole = count_flops([&] { resnet18->forward(torch::randn({1, 3, 224, 224})); });
  EXPECT_NEAR(whole.total() / 1e9, 3.628, 0.01);
  EXPECT_EQ(whole.convolution_calls, 20);
  EXPECT_EQ(whole.uncounted_calls, 0);
}

// MMSeaIce's unet_regression (filters 32, 32, 64, 64) on sarseg's 17 MMSeaIce bands (its 16 with
// the month as sin and cos) with SIC (1, regression), SOD (6) and FLOE (7) heads. A double conv
// in -> out has 9*out*(in + out) weights and 4*out BatchNorm parameters; by hand: input block
// 14,240; contracting 18,560 + 55,552 + 73,984; bridge 73,984; expanding (upsampled + skip -> out)
// 110,848 + 110,848 + 36,992 + 27,776; 1x1 heads 33 + 198 + 231: 523,246 in all. On MMSeaIce's
// own 16 inputs the input block has 13,952: 522,958.
TEST(PlainUnet, HasMmseaiceParameterCountAndShapes) {
  ModelSpec spec;
  spec.encoder = "plain_unet";
  spec.decoder = "plain_unet";
  spec.in_channels = 17;
  spec.decoder_channels = {64, 64, 32, 32};
  spec.heads = {HeadSpec{"SIC", 1, true}, HeadSpec{"SOD", 6, false}, HeadSpec{"FLOE", 7, false}};
  auto model = build_model(spec);
  EXPECT_EQ(model->spec().encoder_depth, 4);
  EXPECT_EQ(model->size_multiple(), 16);
  int64_t count = 0;
  for (const auto& p : model->parameters())
    count += p.numel();
  EXPECT_EQ(count, 523246);
  ModelSpec sixteen = spec;
  sixteen.in_channels = 16;
  int64_t count16 = 0;
  for (const auto& p : build_model(sixteen)->parameters())
    count16 += p.numel();
  EXPECT_EQ(count16, 522958);
  torch::NoGradGuard no_grad;
  model->eval();
  const auto features = model->encoder_features(torch::randn({1, 17, 32, 48}));
  ASSERT_EQ(features.size(), 5u);
  const std::vector<int64_t> channels = {32, 32, 64, 64, 64};
  for (size_t k = 0; k < features.size(); ++k) {
    EXPECT_EQ(features[k].size(1), channels[k]) << k;
    EXPECT_EQ(features[k].size(2), 32 >> k) << k;
    EXPECT_EQ(features[k].size(3), 48 >> k) << k;
  }
  const auto outputs = model->forward_heads(torch::randn({2, 17, 32, 48}));
  ASSERT_EQ(outputs.size(), 3u);
  EXPECT_EQ(outputs[0].sizes(), (std::vector<int64_t>{2, 1, 32, 48}));
  EXPECT_EQ(outputs[2].sizes(), (std::vector<int64_t>{2, 7, 32, 48}));
  // No ImageNet weights to start from: the error says what to use instead.
  spec.init = "imagenet";
  auto again = build_model(spec);
  const auto message = user_error_message([&] { initialise_encoder(again, spec); });
  EXPECT_NE(message.find("has no ImageNet weight set"), std::string::npos) << message;
}

}  // namespace
}  // namespace sarseg::models
