// Internal: builders of the torchvision backbones and the decoder base (not a public interface).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "sarseg/models/encoders.h"
#include "sarseg/models/model.h"

namespace sarseg::models::detail {

// A Sequential that can itself sit inside a Sequential (nn::Sequential's templated forward
// cannot be stored in an AnyModule). Children are named "0", "1", ... as in PyTorch.
class SequentialBlockImpl : public torch::nn::SequentialImpl {
 public:
  using torch::nn::SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return torch::nn::SequentialImpl::forward(x); }
};
TORCH_MODULE(SequentialBlock);

// torchvision resnet18/34 (BasicBlock) and resnet50 (Bottleneck).
std::shared_ptr<EncoderImpl> make_resnet(const std::string& name, std::vector<int64_t> blocks,
                                         bool bottleneck, int64_t in_channels, int64_t depth);
// torchvision mobilenet_v2 (width 1.0), torch padding.
std::shared_ptr<EncoderImpl> make_mobilenet_v2(int64_t in_channels, int64_t depth);
// The starter kit's DoubleConv: (conv3x3 without bias + BN + ReLU) x 2, children "0".."5".
SequentialBlock double_conv(int64_t in, int64_t out);
// The AI4Arctic starter kit / MMSeaIce U-Net contracting path; `channels` holds the input
// block's width, then stages 1..5 (plain_unet.cpp).
std::shared_ptr<EncoderImpl> make_plain_unet_encoder(const std::vector<int64_t>& channels,
                                                     int64_t in_channels, int64_t depth);

// A decoder maps the encoder features [x, stage1..stage_depth] to one logit map per head, each
// at the input size. Decoders live in decoders/ and are listed in models/decoders.h.
class DecoderImpl : public torch::nn::Module {
 public:
  virtual std::vector<torch::Tensor> forward(std::vector<torch::Tensor> features) = 0;
  // Input height and width must be multiples of this.
  virtual int64_t size_multiple() const = 0;
};

}  // namespace sarseg::models::detail
