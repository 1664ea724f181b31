// Encoder registry, torchvision initialisation and the first-conv adaptation rule.
#include "sarseg/models/encoders.h"

#include <cmath>

#include "backbones.h"
#include "sarseg/util/error.h"
#include "sarseg/util/find.h"
#include "sarseg/util/strings.h"

namespace sarseg::models {

EncoderImpl::EncoderImpl(std::string name, int64_t in_channels, int64_t depth)
    : torch::nn::Module(name), name_(std::move(name)), in_channels_(in_channels), depth_(depth) {}

std::vector<int64_t> EncoderImpl::out_channels() const {
  const auto& info = find_encoder(name_);
  const auto& stages = info.stage_channels;
  std::vector<int64_t> channels{info.stem_channels > 0 ? info.stem_channels : in_channels_};
  channels.insert(channels.end(), stages.begin(), stages.begin() + depth_);
  return channels;
}

const std::vector<EncoderInfo>& encoder_registry() {
  static const std::vector<EncoderInfo> registry = [] {
    const std::vector<int64_t> reductions{2, 4, 8, 16, 32};
    auto resnet = [&](const std::string& name, std::vector<int64_t> blocks, bool bottleneck,
                      std::vector<int64_t> channels, const std::string& description) {
      return EncoderInfo{name,
                         std::move(channels),
                         reductions,
                         name + ".imagenet",
                         "conv1.weight",
                         description,
                         [name, blocks, bottleneck](int64_t in_channels, int64_t depth) {
                           return detail::make_resnet(name, blocks, bottleneck, in_channels, depth);
                         }};
    };
    std::vector<EncoderInfo> encoders;
    encoders.push_back(resnet("resnet18", {2, 2, 2, 2}, false, {64, 64, 128, 256, 512},
                              "torchvision ResNet-18 (BasicBlock)"));
    encoders.push_back(resnet("resnet34", {3, 4, 6, 3}, false, {64, 64, 128, 256, 512},
                              "torchvision ResNet-34 (BasicBlock)"));
    encoders.push_back(resnet("resnet50", {3, 4, 6, 3}, true, {64, 256, 512, 1024, 2048},
                              "torchvision ResNet-50 (Bottleneck, v1.5)"));
    encoders.push_back(EncoderInfo{"mobilenet_v2",
                                   {16, 24, 32, 96, 1280},
                                   reductions,
                                   "mobilenet_v2.imagenet",
                                   "features.0.0.weight",
                                   "torchvision MobileNetV2 width 1.0",
                                   [](int64_t in_channels, int64_t depth) {
                                     return detail::make_mobilenet_v2(in_channels, depth);
                                   }});
    // MMSeaIce's filters [32, 32, 64, 64] are the input block and stages 1..3; stage 4 is the
    // starter kit's bridge (as wide as the last filter), stage 5 one more block of that width.
    const std::vector<int64_t> plain_widths{32, 32, 64, 64, 64, 64};
    EncoderInfo plain{"plain_unet",
                      std::vector<int64_t>(plain_widths.begin() + 1, plain_widths.end()),
                      reductions,
                      "",
                      "input_block.0.weight",
                      "AI4Arctic starter-kit / MMSeaIce U-Net contracting path: input block "
                      "(32) at full resolution, then 2x2 max-pool + 2x(conv3x3+BN+ReLU) per "
                      "stage (32, 64, 64, 64, 64); depth 4 is MMSeaIce's; no pretrained weights",
                      [plain_widths](int64_t in_channels, int64_t depth) {
                        return detail::make_plain_unet_encoder(plain_widths, in_channels, depth);
                      }};
    plain.stem_channels = plain_widths.front();
    encoders.push_back(plain);
    return encoders;
  }();
  return registry;
}

std::vector<std::string> encoder_names() {
  return registered_names(encoder_registry());
}

const EncoderInfo& find_encoder(const std::string& name) {
  return find_registered(encoder_registry(), name, "encoder");
}

std::shared_ptr<EncoderImpl> build_encoder(const std::string& name, int64_t in_channels,
                                           int64_t depth) {
  const auto& info = find_encoder(name);
  require(in_channels >= 1, "encoder " + name + ": in_channels must be at least 1 (got " +
                                std::to_string(in_channels) + ")");
  require(depth >= 1 && depth <= static_cast<int64_t>(info.stage_channels.size()),
          "encoder " + name + ": depth must be between 1 and " +
              std::to_string(info.stage_channels.size()) + " (got " + std::to_string(depth) + ")");
  return info.build(in_channels, depth);
}

void apply_torchvision_init(torch::nn::Module& module, TorchvisionInit style) {
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules(/*include_self=*/true)) {
    if (auto* conv = child->as<torch::nn::Conv2d>()) {
      // Both torchvision backbones: kaiming_normal_(mode="fan_out") with the ReLU gain
      // (MobileNetV2's default leaky_relu with a=0 has the same gain).
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
      if (conv->bias.defined()) torch::nn::init::zeros_(conv->bias);
    } else if (auto* bn = child->as<torch::nn::BatchNorm2d>()) {
      torch::nn::init::ones_(bn->weight);
      torch::nn::init::zeros_(bn->bias);
    } else if (auto* linear = child->as<torch::nn::Linear>()) {
      // ResNet keeps PyTorch's default Linear init; MobileNetV2 uses normal(0, 0.01), bias 0.
      if (style == TorchvisionInit::kMobileNetV2) {
        torch::nn::init::normal_(linear->weight, 0.0, 0.01);
        torch::nn::init::zeros_(linear->bias);
      }
    }
  }
}

torch::Tensor adapt_first_conv_weight(const torch::Tensor& weight, int64_t in_channels,
                                      std::string* rule) {
  TORCH_CHECK(weight.dim() == 4, "first conv weight must be 4-D");
  const int64_t source_channels = weight.size(1);
  std::string description;
  torch::Tensor adapted;
  if (in_channels == source_channels) {
    adapted = weight;
    description = "first conv used unchanged (" + std::to_string(in_channels) + " bands)";
  } else if (in_channels == 1) {
    adapted = weight.sum(1, /*keepdim=*/true);
    description = "first conv adapted to 1 band: sum of the " + std::to_string(source_channels) +
                  " pretrained input filters (SMP patch_first_conv)";
  } else {
    // Band i takes pretrained filter i mod source_channels; the scale keeps the response to an
    // input that is equal on every band the same as the pretrained one.
    std::vector<int64_t> index(in_channels);
    for (int64_t i = 0; i < in_channels; ++i)
      index[i] = i % source_channels;
    adapted = weight.index_select(1, torch::tensor(index, torch::kLong)) *
              (static_cast<double>(source_channels) / static_cast<double>(in_channels));
    description = "first conv adapted to " + std::to_string(in_channels) + " bands: the " +
                  std::to_string(source_channels) +
                  " pretrained input filters repeated cyclically and scaled by " +
                  std::to_string(source_channels) + "/" + std::to_string(in_channels) +
                  " (SMP patch_first_conv)";
  }
  if (rule) *rule = description;
  return adapted.contiguous();
}

}  // namespace sarseg::models
