// The paper's DeepLabV3 head: torchvision DeepLabHead with a fixed AvgPool image-pooling branch.
#include <torch/torch.h>

#include "decoder_parts.h"
#include "sarseg/models/layers.h"
#include "sarseg/models/model.h"
#include "sarseg/util/error.h"

namespace sarseg::models::detail {
namespace {

namespace nn = torch::nn;

// torchvision ASPP with the paper's image-pooling branch: AvgPool2d(pool, pool) (not a global
// pool), conv1x1+BN+ReLU at the pooled resolution, bilinear upsampling back to the feature size.
class AsppImpl : public nn::Module {
 public:
  AsppImpl(int64_t in, int64_t out, const std::vector<int64_t>& rates, int64_t pool, double dropout)
      : rates_(rates) {
    convs_->push_back(conv_bn_relu(in, out, 1));
    for (int64_t rate : rates)
      convs_->push_back(conv_bn_relu(in, out, 3, rate, rate));
    nn::Sequential pooling(nn::AvgPool2d(nn::AvgPool2dOptions(pool).stride(pool)), conv(in, out, 1),
                           nn::BatchNorm2d(out), nn::ReLU(nn::ReLUOptions(true)));
    convs_->push_back(pooling);
    register_module("convs", convs_);
    const int64_t branches = static_cast<int64_t>(rates.size()) + 2;
    project_ = register_module("project",
                               nn::Sequential(conv(branches * out, out, 1), nn::BatchNorm2d(out),
                                              nn::ReLU(nn::ReLUOptions(true)), Dropout(dropout)));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    std::vector<torch::Tensor> branches;
    const auto size = std::vector<int64_t>{x.size(-2), x.size(-1)};
    for (size_t i = 0; i < convs_->size(); ++i) {
      auto& branch = *convs_[i]->as<nn::Sequential>();
      const bool dilated = i >= 1 && i <= rates_.size();
      auto y =
          dilated ? dilated_branch(branch, x, rates_[i - 1]) : forward_fusing_batchnorm(branch, x);
      if (i + 1 == convs_->size()) {
        y = upsample_bilinear(y, size);
      }
      branches.push_back(y);
    }
    return forward_fusing_batchnorm(*project_, torch::cat(branches, 1));
  }

 private:
  // The paper's rates 24 and 36 exceed the 16x16 map of a 256x256 crop: their off-centre taps
  // read only padding, and dilated_conv3x3 skips them.
  static torch::Tensor dilated_branch(nn::SequentialImpl& branch, const torch::Tensor& x,
                                      int64_t rate) {
    const auto& conv = *branch.ptr<nn::Conv2dImpl>(0);
    // BatchNorm and ReLU after the convolution.
    return forward_fusing_batchnorm(branch, dilated_conv3x3(x, conv.weight, conv.bias, rate), 1);
  }

  std::vector<int64_t> rates_;
  nn::ModuleList convs_;
  nn::Sequential project_{nullptr};
};
TORCH_MODULE(Aspp);

class DeepLabV3DecoderImpl : public DecoderImpl {
 public:
  DeepLabV3DecoderImpl(const ModelSpec& spec, const std::vector<int64_t>& encoder_channels)
      : depth_(static_cast<int64_t>(encoder_channels.size()) - 1), pool_(spec.aspp_pool) {
    require(spec.aspp_channels >= 1, "deeplabv3: aspp_channels must be at least 1");
    require(spec.aspp_pool >= 1, "deeplabv3: aspp_pool must be at least 1");
    require(spec.dropout >= 0.0 && spec.dropout < 1.0, "deeplabv3: dropout must be in [0, 1)");
    for (int64_t rate : spec.aspp_rates)
      require(rate >= 1, "deeplabv3: aspp_rates must be positive");
    const int64_t channels = spec.aspp_channels;
    aspp_ = register_module("aspp", Aspp(encoder_channels.back(), channels, spec.aspp_rates,
                                         spec.aspp_pool, spec.dropout));
    block_ = register_module("block", conv_bn_relu(channels, channels, 3, 1));
    for (const auto& head : spec.heads) {
      require(head.outputs >= 1, "head '" + head.name + "': outputs must be at least 1");
      heads_->push_back(conv(channels, head.outputs, 1, 0, 1, true));
    }
    register_module("heads", heads_);
  }

  std::vector<torch::Tensor> forward(std::vector<torch::Tensor> features) override {
    const auto size = std::vector<int64_t>{features[0].size(-2), features[0].size(-1)};
    auto x = forward_fusing_batchnorm(*block_, aspp_->forward(features.back()));
    std::vector<torch::Tensor> outputs;
    for (const auto& head : *heads_) {
      // The logits are upsampled in fp32 and NCHW: the loss reads them in fp32 anyway, and
      // LibTorch 1.13's bilinear kernels are 3-7 times slower in bf16 or channels-last (x16 of
      // 8 x 6 x 16 x 16, forward + backward: 46 ms in bf16 channels-last, 10 ms in fp32 NCHW,
      // under 5 ms with upsample_bilinear's separable passes).
      auto logits = head->as<nn::Conv2d>()->forward(x).to(torch::kFloat).contiguous();
      outputs.push_back(upsample_bilinear(logits, size));
    }
    return outputs;
  }

  // The feature map (input / 2^depth) must be divisible by the pool so that the pooled branch
  // covers it exactly.
  int64_t size_multiple() const override { return (int64_t{1} << depth_) * pool_; }

 private:
  int64_t depth_;
  int64_t pool_;
  Aspp aspp_{nullptr};
  nn::Sequential block_{nullptr};
  nn::ModuleList heads_;
};

}  // namespace

DecoderInfo deeplabv3_decoder() {
  return decoder_info<DeepLabV3DecoderImpl>(
      "deeplabv3",
      "the paper's DeepLabV3: encoder cut at depth 4 (stride 16), ASPP rates 12/24/36 with an "
      "AvgPool2d(2,2) image-pool branch, projection + dropout 0.5, conv3x3, 1x1 classifier, "
      "bilinear upsampling; input a multiple of 2^depth x 2",
      /*default_encoder_depth=*/4,  // ResNet layer3, stride 16
      /*int8_supported=*/true);     // models/int8.cpp mirrors these layers
}

}  // namespace sarseg::models::detail
