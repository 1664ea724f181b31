// torchvision ResNet (v1.5: stride in the 3x3 conv of a Bottleneck) as an SMP-style encoder.
#include <torch/torch.h>

#include "backbones.h"
#include "sarseg/models/layers.h"

namespace sarseg::models::detail {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

// BasicBlock (conv1 3x3, conv2 3x3) or Bottleneck (conv1 1x1, conv2 3x3 strided, conv3 1x1),
// with torchvision's member names and an optional `downsample` (1x1 conv + BN).
class ResidualBlockImpl : public nn::Module {
 public:
  ResidualBlockImpl(int64_t inplanes, int64_t planes, int64_t stride, bool bottleneck)
      : bottleneck_(bottleneck) {
    const int64_t expansion = bottleneck ? 4 : 1;
    if (bottleneck) {
      conv1_ = register_module("conv1", conv(inplanes, planes, 1, 1, 0));
      bn1_ = register_module("bn1", nn::BatchNorm2d(planes));
      conv2_ = register_module("conv2", conv(planes, planes, 3, stride, 1));
      bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
      conv3_ = register_module("conv3", conv(planes, planes * expansion, 1, 1, 0));
      bn3_ = register_module("bn3", nn::BatchNorm2d(planes * expansion));
    } else {
      conv1_ = register_module("conv1", conv(inplanes, planes, 3, stride, 1));
      bn1_ = register_module("bn1", nn::BatchNorm2d(planes));
      conv2_ = register_module("conv2", conv(planes, planes, 3, 1, 1));
      bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
    }
    if (stride != 1 || inplanes != planes * expansion) {
      downsample_ = register_module("downsample",
                                    nn::Sequential(conv(inplanes, planes * expansion, 1, stride, 0),
                                                   nn::BatchNorm2d(planes * expansion)));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    // BatchNorm, the residual sum and the ReLU fused where they can be (layers.h), torchvision's
    // in-place sum and ReLU otherwise.
    const auto identity = downsample_ ? forward_fusing_batchnorm(*downsample_, x) : x;
    auto out = batchnorm_relu(*bn1_, conv_forward(*conv1_, x));
    if (bottleneck_) {
      out = batchnorm_relu(*bn2_, conv_forward(*conv2_, out));
      return batchnorm_add_relu(*bn3_, conv_forward(*conv3_, out), identity);
    }
    return batchnorm_add_relu(*bn2_, conv_forward(*conv2_, out), identity);
  }

 private:
  bool bottleneck_;
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(ResidualBlock);

class ResNetEncoderImpl : public EncoderImpl {
 public:
  ResNetEncoderImpl(const std::string& name, const std::vector<int64_t>& blocks, bool bottleneck,
                    int64_t in_channels, int64_t depth)
      : EncoderImpl(name, in_channels, depth) {
    conv1_ = register_module("conv1", conv(in_channels, 64, 7, 2, 3));
    bn1_ = register_module("bn1", nn::BatchNorm2d(64));
    const int64_t expansion = bottleneck ? 4 : 1;
    int64_t inplanes = 64;
    const int64_t planes[4] = {64, 128, 256, 512};
    // Stage k (k >= 2) is layer(k-1): only the stages up to `depth` are built.
    for (int64_t layer = 0; layer < 4 && layer + 2 <= depth; ++layer) {
      nn::Sequential sequence;
      const int64_t stride = layer == 0 ? 1 : 2;
      for (int64_t block = 0; block < blocks[layer]; ++block) {
        sequence->push_back(
            ResidualBlock(inplanes, planes[layer], block == 0 ? stride : 1, bottleneck));
        inplanes = planes[layer] * expansion;
      }
      layers_.push_back(register_module("layer" + std::to_string(layer + 1), sequence));
    }
  }

  std::vector<torch::Tensor> forward(const torch::Tensor& x) override {
    std::vector<torch::Tensor> features{x};
    if (depth_ < 1) return features;
    auto y = batchnorm_relu(*bn1_, conv_forward(*conv1_, x));
    features.push_back(y);
    for (size_t i = 0; i < layers_.size(); ++i) {
      if (i == 0) y = torch::max_pool2d(y, 3, 2, 1);
      y = layers_[i]->forward(y);
      features.push_back(y);
    }
    return features;
  }

  std::string first_conv_weight_name() const override { return "conv1.weight"; }

 private:
  nn::Conv2d conv1_{nullptr};
  nn::BatchNorm2d bn1_{nullptr};
  std::vector<nn::Sequential> layers_;
};

}  // namespace

std::shared_ptr<EncoderImpl> make_resnet(const std::string& name, std::vector<int64_t> blocks,
                                         bool bottleneck, int64_t in_channels, int64_t depth) {
  auto encoder = std::make_shared<ResNetEncoderImpl>(name, blocks, bottleneck, in_channels, depth);
  apply_torchvision_init(*encoder, TorchvisionInit::kResNet);
  return encoder;
}

}  // namespace sarseg::models::detail
