// Internal: layers shared by the decoders, and one registry entry per decoder file.
#pragma once

#include <torch/torch.h>

#include "../backbones.h"
#include "sarseg/models/decoders.h"

namespace sarseg::models::detail {

inline torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t padding = 0,
                              int64_t dilation = 1, bool bias = false) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).padding(padding).dilation(dilation).bias(bias));
}

// SMP Conv2dReLU: conv (no bias) + BN + ReLU, names .0 and .1.
inline torch::nn::Sequential conv_bn_relu(int64_t in, int64_t out, int64_t kernel,
                                          int64_t padding = 0, int64_t dilation = 1) {
  return torch::nn::Sequential(conv(in, out, kernel, padding, dilation),
                               torch::nn::BatchNorm2d(out),
                               torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
}

// Dropout as torch::nn::Dropout (zeroes each element with probability p in training, scales the
// rest by 1 / (1 - p)), with the mask drawn from uniform_() in the input's memory layout:
// LibTorch 1.13's bernoulli_ takes 12 ms for the 8 x 256 x 16 x 16 bf16 channels-last map of the
// paper's ASPP, this 3-4 ms. No parameters or buffers, so checkpoints are unchanged.
class DropoutImpl : public torch::nn::Cloneable<DropoutImpl> {
 public:
  explicit DropoutImpl(double p) : p_(p) {}
  void reset() override {}
  torch::Tensor forward(const torch::Tensor& x) {
    if (!is_training() || p_ <= 0) return x;
    auto keep = torch::empty_like(x, x.options().dtype(torch::kFloat)).uniform_() >= p_;
    return x * keep.to(x.scalar_type()).mul_(1.0 / (1.0 - p_));
  }
  void pretty_print(std::ostream& stream) const override { stream << "Dropout(p=" << p_ << ")"; }

 private:
  double p_;
};
TORCH_MODULE(Dropout);

// One per decoder file; decoder_registry() lists them.
DecoderInfo deeplabv3_decoder();  // deeplabv3.cpp
DecoderInfo unet_decoder();       // unet.cpp

}  // namespace sarseg::models::detail
