// The expanding path of the AI4Arctic starter kit's U-Net (MMSeaIce's unet_regression): per
// stage a bilinear x2 upsampling (align_corners=true), concatenation [upsampled, skip] and a double
// convolution; 1x1 heads. With the plain_unet encoder the last skip is its full-resolution input
// block; with another encoder it is the input itself.
#include <torch/torch.h>

#include "decoder_parts.h"
#include "sarseg/models/model.h"
#include "sarseg/util/error.h"

namespace sarseg::models::detail {
namespace {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

class ExpandingBlockImpl : public nn::Module {
 public:
  ExpandingBlockImpl(int64_t in, int64_t skip, int64_t out) {
    double_conv_ = register_module("double_conv", double_conv(in + skip, out));
  }
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& skip) {
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{skip.size(2), skip.size(3)})
                              .mode(torch::kBilinear)
                              .align_corners(true));
    return double_conv_->forward(torch::cat({x, skip}, 1));
  }

 private:
  SequentialBlock double_conv_{nullptr};
};
TORCH_MODULE(ExpandingBlock);

class PlainUnetDecoderImpl : public DecoderImpl {
 public:
  PlainUnetDecoderImpl(const ModelSpec& spec, const std::vector<int64_t>& encoder_channels)
      : depth_(static_cast<int64_t>(encoder_channels.size()) - 1) {
    require_stage_channels(
        spec, depth_, "plain_unet",
        "give one channel count per stage, deepest first (MMSeaIce: 64, 64, 32, 32)");
    int64_t in = encoder_channels.back();
    for (int64_t i = 0; i < depth_; ++i) {
      const int64_t skip = encoder_channels[static_cast<size_t>(depth_ - 1 - i)];
      const int64_t out = spec.decoder_channels[static_cast<size_t>(i)];
      blocks_->push_back(ExpandingBlock(in, skip, out));
      in = out;
    }
    register_module("expand_blocks", blocks_);
    for (const auto& head : spec.heads) {
      require(head.outputs >= 1, "head '" + head.name + "': outputs must be at least 1");
      heads_->push_back(nn::Conv2d(nn::Conv2dOptions(in, head.outputs, 1)));
    }
    register_module("heads", heads_);
  }

  std::vector<torch::Tensor> forward(std::vector<torch::Tensor> features) override {
    auto x = features.back();
    for (int64_t i = 0; i < depth_; ++i)
      x = blocks_[static_cast<size_t>(i)]->as<ExpandingBlock>()->forward(
          x, features[static_cast<size_t>(depth_ - 1 - i)]);
    std::vector<torch::Tensor> outputs;
    for (const auto& head : *heads_)
      outputs.push_back(head->as<nn::Conv2d>()->forward(x));
    return outputs;
  }

  int64_t size_multiple() const override { return int64_t{1} << depth_; }

 private:
  int64_t depth_;
  nn::ModuleList blocks_;
  nn::ModuleList heads_;
};

}  // namespace

DecoderInfo plain_unet_decoder() {
  return decoder_info<PlainUnetDecoderImpl>(
      "plain_unet",
      "AI4Arctic starter-kit / MMSeaIce U-Net expanding path: bilinear x2 upsampling "
      "(align_corners), skip concat, 2x(conv3x3+BN+ReLU) per stage, 1x1 heads; with the "
      "plain_unet encoder the last skip is its input block; default depth 4 (MMSeaIce), "
      "decoder_channels deepest first (MMSeaIce: 64,64,32,32); PyTorch default initialisation",
      /*default_encoder_depth=*/4);
}

}  // namespace sarseg::models::detail
