// The contracting path of the AI4Arctic starter kit's U-Net, which MMSeaIce (the AutoICE winner)
// trains as `unet_regression` with filters [32, 32, 64, 64]: an input block at full resolution,
// then per stage a 2x2 max-pool and a double convolution.
#include <torch/torch.h>

#include "backbones.h"

namespace sarseg::models::detail {

SequentialBlock double_conv(int64_t in, int64_t out) {
  namespace nn = torch::nn;
  return SequentialBlock(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)),
                         nn::BatchNorm2d(out), nn::ReLU(nn::ReLUOptions(/*inplace=*/true)),
                         nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1).bias(false)),
                         nn::BatchNorm2d(out), nn::ReLU(nn::ReLUOptions(/*inplace=*/true)));
}

namespace {

class PlainUnetEncoderImpl : public EncoderImpl {
 public:
  // channels: the input block, then stages 1..depth.
  PlainUnetEncoderImpl(const std::vector<int64_t>& channels, int64_t in_channels, int64_t depth)
      : EncoderImpl("plain_unet", in_channels, depth) {
    input_block_ = register_module("input_block", double_conv(in_channels, channels[0]));
    for (int64_t stage = 1; stage <= depth; ++stage)
      contract_blocks_->push_back(double_conv(channels[static_cast<size_t>(stage - 1)],
                                              channels[static_cast<size_t>(stage)]));
    register_module("contract_blocks", contract_blocks_);
  }

  // [input block (full resolution), stage 1 (/2), ..., stage depth]: features[0] is the input
  // block's map, the last skip of the plain_unet decoder, not the input itself.
  std::vector<torch::Tensor> forward(const torch::Tensor& x) override {
    std::vector<torch::Tensor> features{input_block_->forward(x)};
    for (const auto& block : *contract_blocks_)
      features.push_back(block->as<SequentialBlockImpl>()->forward(
          torch::max_pool2d(features.back(), {2, 2}, {2, 2})));
    return features;
  }

  std::string first_conv_weight_name() const override { return "input_block.0.weight"; }

 private:
  SequentialBlock input_block_{nullptr};
  torch::nn::ModuleList contract_blocks_;
};

}  // namespace

std::shared_ptr<EncoderImpl> make_plain_unet_encoder(const std::vector<int64_t>& channels,
                                                     int64_t in_channels, int64_t depth) {
  return std::make_shared<PlainUnetEncoderImpl>(channels, in_channels, depth);
}

}  // namespace sarseg::models::detail
