// Encoder registry: torchvision backbones under torchvision's parameter names.
//
// Every encoder follows segmentation_models.pytorch's depth contract: forward(x) returns
// [x, stage1 (/2), stage2 (/4), ..., stage_depth (/2^depth)]. Only the stages up to `depth` are
// built, so a deeplabv3 cut at layer3 has no layer4 parameters.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sarseg::models {

// Common base of the encoders: the stage maps plus what initialisation and freezing need.
class EncoderImpl : public torch::nn::Module {
 public:
  // [x, stage1, ..., stage_depth]
  virtual std::vector<torch::Tensor> forward(const torch::Tensor& x) = 0;
  const std::string& encoder_name() const { return name_; }
  int64_t depth() const { return depth_; }
  int64_t in_channels() const { return in_channels_; }
  // Channels of [input, stage1, ..., stage_depth].
  std::vector<int64_t> out_channels() const;
  // Parameter name of the first convolution's weight (e.g. "conv1.weight").
  virtual std::string first_conv_weight_name() const = 0;

 protected:
  EncoderImpl(std::string name, int64_t in_channels, int64_t depth);
  std::string name_;
  int64_t in_channels_;
  int64_t depth_;
};

struct EncoderInfo {
  std::string name;
  // Channels of stages 1..5 (SMP out_channels without the input).
  std::vector<int64_t> stage_channels;
  // Reduction (stride) of stages 1..5: 2, 4, 8, 16, 32.
  std::vector<int64_t> reductions;
  std::string default_weight_set;  // "<encoder>.imagenet"; empty: no pretrained weights
  std::string first_conv_weight_name;
  std::string description;
  // Builds the encoder with `in_channels` input bands and stages 1..depth (1 <= depth <= 5),
  // with torchvision's random initialisation (from the current torch RNG).
  std::function<std::shared_ptr<EncoderImpl>(int64_t in_channels, int64_t depth)> build;
  // 0: features[0] is the input (the SMP contract). > 0: features[0] is a full-resolution map of
  // this many channels (a U-Net input block) that a decoder may take as its last skip.
  int64_t stem_channels = 0;
};

const std::vector<EncoderInfo>& encoder_registry();
std::vector<std::string> encoder_names();
// UserError listing the valid names when unknown.
const EncoderInfo& find_encoder(const std::string& name);

// find_encoder(name).build(in_channels, depth), with the arguments checked.
std::shared_ptr<EncoderImpl> build_encoder(const std::string& name, int64_t in_channels,
                                           int64_t depth);

// torchvision's initialisation of the conv/BN/linear layers of a backbone.
enum class TorchvisionInit { kResNet, kMobileNetV2 };
void apply_torchvision_init(torch::nn::Module& module, TorchvisionInit style);

// SMP patch_first_conv: adapts a pretrained first-conv weight [out, 3, kh, kw] to `in_channels`.
// 1 band: the sum over the RGB filters; otherwise RGB filters repeated cyclically over the new
// bands and scaled by 3/in_channels. `rule` receives a one-line description of what was done.
torch::Tensor adapt_first_conv_weight(const torch::Tensor& weight, int64_t in_channels,
                                      std::string* rule);

}  // namespace sarseg::models
