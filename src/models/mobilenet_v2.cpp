// torchvision MobileNetV2 (width 1.0) as an SMP-style encoder; stage taps as in SMP:
// features[0:2] /2, [2:4] /4, [4:7] /8, [7:14] /16, [14:19] /32.
#include <torch/torch.h>

#include "backbones.h"
#include "sarseg/models/layers.h"

namespace sarseg::models::detail {
namespace {

namespace nn = torch::nn;

// torchvision Conv2dNormActivation: Sequential(conv, BN, ReLU6) -> names .0 and .1.
SequentialBlock conv_bn_relu6(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                              int64_t groups) {
  return SequentialBlock(nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                                        .stride(stride)
                                        .padding((kernel - 1) / 2)
                                        .groups(groups)
                                        .bias(false)),
                         nn::BatchNorm2d(out), Relu6());
}

class InvertedResidualImpl : public nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio)
      : use_residual_(stride == 1 && in == out) {
    const int64_t hidden = in * expand_ratio;
    nn::Sequential layers;
    if (expand_ratio != 1) layers->push_back(conv_bn_relu6(in, hidden, 1, 1, 1));
    layers->push_back(conv_bn_relu6(hidden, hidden, 3, stride, hidden));
    layers->push_back(nn::Conv2d(nn::Conv2dOptions(hidden, out, 1).bias(false)));
    layers->push_back(nn::BatchNorm2d(out));
    conv_ = register_module("conv", layers);
  }

  // BatchNorm and ReLU6 fused, convolutions through conv_forward (layers.h).
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = forward_fusing_batchnorm(*conv_, x);
    return use_residual_ ? x + y : y;
  }

 private:
  bool use_residual_;
  nn::Sequential conv_{nullptr};
};
TORCH_MODULE(InvertedResidual);

// Exclusive end index into `features` of stages 1..5.
constexpr int64_t kStageEnds[5] = {2, 4, 7, 14, 19};

class MobileNetV2EncoderImpl : public EncoderImpl {
 public:
  MobileNetV2EncoderImpl(int64_t in_channels, int64_t depth)
      : EncoderImpl("mobilenet_v2", in_channels, depth) {
    const int64_t modules_needed = depth >= 1 ? kStageEnds[depth - 1] : 0;
    nn::Sequential features;
    if (modules_needed > 0) features->push_back(conv_bn_relu6(in_channels, 32, 3, 2, 1));
    // (expansion t, channels c, repeats n, stride s) of torchvision.
    const int64_t settings[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                    {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int64_t channels = 32;
    for (const auto& setting : settings) {
      for (int64_t i = 0; i < setting[2]; ++i) {
        if (static_cast<int64_t>(features->size()) >= modules_needed) break;
        features->push_back(
            InvertedResidual(channels, setting[1], i == 0 ? setting[3] : 1, setting[0]));
        channels = setting[1];
      }
    }
    if (static_cast<int64_t>(features->size()) < modules_needed)
      features->push_back(conv_bn_relu6(channels, 1280, 1, 1, 1));
    features_ = register_module("features", features);
  }

  std::vector<torch::Tensor> forward(const torch::Tensor& x) override {
    std::vector<torch::Tensor> taps{x};
    auto y = x;
    int64_t index = 0;
    int64_t stage = 0;
    for (auto& module : *features_) {
      auto* block = module.ptr()->as<nn::SequentialImpl>();  // the first and last conv + BN + ReLU6
      y = block ? forward_fusing_batchnorm(*block, y) : module.forward(y);
      ++index;
      if (stage < depth_ && index == kStageEnds[stage]) {
        taps.push_back(y);
        ++stage;
      }
    }
    return taps;
  }

  std::string first_conv_weight_name() const override { return "features.0.0.weight"; }

 private:
  nn::Sequential features_{nullptr};
};

}  // namespace

std::shared_ptr<EncoderImpl> make_mobilenet_v2(int64_t in_channels, int64_t depth) {
  auto encoder = std::make_shared<MobileNetV2EncoderImpl>(in_channels, depth);
  apply_torchvision_init(*encoder, TorchvisionInit::kMobileNetV2);
  return encoder;
}

}  // namespace sarseg::models::detail
