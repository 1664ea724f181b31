// SMP-style U-Net decoder.
#include <torch/torch.h>

#include "decoder_parts.h"
#include "sarseg/models/layers.h"
#include "sarseg/models/model.h"
#include "sarseg/util/error.h"

namespace sarseg::models::detail {
namespace {

namespace nn = torch::nn;

// SMP DecoderBlock: nearest x2 upsampling, concatenation with the skip, two conv3x3+BN+ReLU.
class UnetBlockImpl : public nn::Module {
 public:
  UnetBlockImpl(int64_t in, int64_t skip, int64_t out) {
    conv1_ = register_module("conv1", conv_bn_relu(in + skip, out, 3, 1));
    conv2_ = register_module("conv2", conv_bn_relu(out, out, 3, 1));
  }
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& skip) {
    x = upsample_nearest2x(x);
    if (skip.defined()) x = torch::cat({x, skip}, 1);
    return forward_fusing_batchnorm(*conv2_, forward_fusing_batchnorm(*conv1_, x));
  }

 private:
  nn::Sequential conv1_{nullptr}, conv2_{nullptr};
};
TORCH_MODULE(UnetBlock);

class UnetDecoderImpl : public DecoderImpl {
 public:
  UnetDecoderImpl(const ModelSpec& spec, const std::vector<int64_t>& encoder_channels)
      : depth_(static_cast<int64_t>(encoder_channels.size()) - 1) {
    require_stage_channels(spec, depth_, "unet", "give at least one channel count per stage");
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

}  // namespace

DecoderInfo unet_decoder() {
  return decoder_info<UnetDecoderImpl>(
      "unet",
      "segmentation_models.pytorch U-Net: nearest x2 upsampling, skip concat, 2x "
      "(conv3x3+BN+ReLU) per stage; default depth 5, decoder channels 256,128,64,32,16; "
      "input a multiple of 2^depth",
      /*default_encoder_depth=*/5);
}

}  // namespace sarseg::models::detail
