// Decoders: SMP-style U-Net and the paper's DeepLabV3 head (torchvision DeepLabHead with a fixed
// AvgPool image-pooling branch).
#include <torch/torch.h>

#include "backbones.h"
#include "sarseg/models/layers.h"
#include "sarseg/util/error.h"

namespace sarseg::models::detail {
namespace {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t padding = 0, int64_t dilation = 1,
                bool bias = false) {
  return nn::Conv2d(
      nn::Conv2dOptions(in, out, kernel).padding(padding).dilation(dilation).bias(bias));
}

// SMP Conv2dReLU: conv (no bias) + BN + ReLU, names .0 and .1.
nn::Sequential conv_bn_relu(int64_t in, int64_t out, int64_t kernel, int64_t padding = 0,
                            int64_t dilation = 1) {
  return nn::Sequential(conv(in, out, kernel, padding, dilation), nn::BatchNorm2d(out),
                        nn::ReLU(nn::ReLUOptions(/*inplace=*/true)));
}

// ---- U-Net ------------------------------------------------------------------------------------

// SMP DecoderBlock: nearest x2 upsampling, concatenation with the skip, two conv3x3+BN+ReLU.
class UnetBlockImpl : public nn::Module {
 public:
  UnetBlockImpl(int64_t in, int64_t skip, int64_t out) {
    conv1_ = register_module("conv1", conv_bn_relu(in + skip, out, 3, 1));
    conv2_ = register_module("conv2", conv_bn_relu(out, out, 3, 1));
  }
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& skip) {
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .scale_factor(std::vector<double>{2.0, 2.0})
                              .mode(torch::kNearest));
    if (skip.defined()) x = torch::cat({x, skip}, 1);
    return conv2_->forward(conv1_->forward(x));
  }

 private:
  nn::Sequential conv1_{nullptr}, conv2_{nullptr};
};
TORCH_MODULE(UnetBlock);

class UnetDecoderImpl : public DecoderImpl {
 public:
  UnetDecoderImpl(const ModelSpec& spec, const std::vector<int64_t>& encoder_channels)
      : depth_(static_cast<int64_t>(encoder_channels.size()) - 1) {
    require(static_cast<int64_t>(spec.decoder_channels.size()) >= depth_,
            "unet: decoder_channels has " + std::to_string(spec.decoder_channels.size()) +
                " entries but encoder_depth is " + std::to_string(depth_) +
                ": give at least one channel count per stage");
    // Deepest stage first; the input itself (index 0) is never a skip.
    std::vector<int64_t> in_channels{encoder_channels.back()};
    for (int64_t i = 0; i + 1 < depth_; ++i)
      in_channels.push_back(spec.decoder_channels[i]);
    for (int64_t i = 0; i < depth_; ++i) {
      const int64_t skip = i + 1 < depth_ ? encoder_channels[depth_ - 1 - i] : 0;
      blocks_->push_back(UnetBlock(in_channels[i], skip, spec.decoder_channels[i]));
    }
    register_module("blocks", blocks_);
    for (const auto& head : spec.heads) {
      require(head.outputs >= 1, "head '" + head.name + "': outputs must be at least 1");
      heads_->push_back(conv(spec.decoder_channels[depth_ - 1], head.outputs, 3, 1, 1, true));
    }
    register_module("heads", heads_);
    initialise();
  }

  std::vector<torch::Tensor> forward(std::vector<torch::Tensor> features) override {
    auto x = features.back();
    for (int64_t i = 0; i < depth_; ++i) {
      const int64_t skip_index = depth_ - 1 - i;
      auto skip = skip_index >= 1 ? features[skip_index] : torch::Tensor();
      x = blocks_[i]->as<UnetBlock>()->forward(x, skip);
    }
    std::vector<torch::Tensor> outputs;
    for (const auto& head : *heads_)
      outputs.push_back(head->as<nn::Conv2d>()->forward(x));
    return outputs;
  }

  int64_t size_multiple() const override { return int64_t{1} << depth_; }

 private:
  // SMP initialize_decoder / initialize_head.
  void initialise() {
    torch::NoGradGuard no_grad;
    for (auto& module : blocks_->modules(false)) {
      if (auto* c = module->as<nn::Conv2d>()) {
        nn::init::kaiming_uniform_(c->weight, 0.0, torch::kFanIn, torch::kReLU);
      } else if (auto* bn = module->as<nn::BatchNorm2d>()) {
        nn::init::ones_(bn->weight);
        nn::init::zeros_(bn->bias);
      }
    }
    for (auto& module : heads_->modules(false)) {
      if (auto* c = module->as<nn::Conv2d>()) {
        nn::init::xavier_uniform_(c->weight);
        nn::init::zeros_(c->bias);
      }
    }
  }

  int64_t depth_;
  nn::ModuleList blocks_;
  nn::ModuleList heads_;
};

// ---- DeepLabV3 --------------------------------------------------------------------------------

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
    project_ = register_module(
        "project", nn::Sequential(conv(branches * out, out, 1), nn::BatchNorm2d(out),
                                  nn::ReLU(nn::ReLUOptions(true)), nn::Dropout(dropout)));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    std::vector<torch::Tensor> branches;
    const auto size = std::vector<int64_t>{x.size(-2), x.size(-1)};
    for (size_t i = 0; i < convs_->size(); ++i) {
      auto& branch = *convs_[i]->as<nn::Sequential>();
      const bool dilated = i >= 1 && i <= rates_.size();
      auto y = dilated ? dilated_branch(branch, x, rates_[i - 1]) : branch.forward(x);
      if (i + 1 == convs_->size()) {
        y = F::interpolate(
            y, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false));
      }
      branches.push_back(y);
    }
    return project_->forward(torch::cat(branches, 1));
  }

 private:
  // The paper's rates 24 and 36 exceed the 16x16 map of a 256x256 crop: their off-centre taps
  // read only padding, and dilated_conv3x3 skips them.
  static torch::Tensor dilated_branch(nn::SequentialImpl& branch, const torch::Tensor& x,
                                      int64_t rate) {
    const auto& conv = *branch.ptr<nn::Conv2dImpl>(0);
    auto y = dilated_conv3x3(x, conv.weight, conv.bias, rate);
    bool first = true;
    for (auto& module : branch) {  // BatchNorm and ReLU after the convolution
      if (!first) y = module.forward(y);
      first = false;
    }
    return y;
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
    auto x = block_->forward(aspp_->forward(features.back()));
    std::vector<torch::Tensor> outputs;
    for (const auto& head : *heads_) {
      outputs.push_back(F::interpolate(
          head->as<nn::Conv2d>()->forward(x),
          F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false)));
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

std::shared_ptr<DecoderImpl> make_unet(const ModelSpec& spec,
                                       const std::vector<int64_t>& encoder_channels) {
  return std::make_shared<UnetDecoderImpl>(spec, encoder_channels);
}

std::shared_ptr<DecoderImpl> make_deeplabv3(const ModelSpec& spec,
                                            const std::vector<int64_t>& encoder_channels) {
  return std::make_shared<DeepLabV3DecoderImpl>(spec, encoder_channels);
}

}  // namespace sarseg::models::detail
