// Building blocks shared by the decoders that are worth testing on their own.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace sarseg::models {

// A 3x3 convolution with dilation and padding `rate` (stride 1, same-size output), computed
// without the taps that only ever read zero padding: a tap `rate` pixels off centre lies wholly
// outside a map at most `rate` pixels high (or wide), so those kernel rows (columns) are left out.
// Output and gradients equal torch::conv2d(x, weight, bias, 1, rate, rate); the gradient of a
// dropped tap is zero in both.
torch::Tensor dilated_conv3x3(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias, int64_t rate);

// The weight and bias of `conv` with the eval-mode `bn` that follows it folded in (computed in
// double, returned in the convolution's dtype): conv'(x) = bn(conv(x)).
struct FoldedConv {
  torch::Tensor weight;
  torch::Tensor bias;
};
FoldedConv fold_batchnorm_parameters(const torch::nn::Conv2dImpl& conv,
                                     const torch::nn::BatchNorm2dImpl& bn);

// Puts every 4-D parameter (convolution weights) of `module` into channels-last (NHWC) layout, in
// place: optimisers and other holders of the parameters keep seeing the same tensors.
void convert_to_channels_last(torch::nn::Module& module);

}  // namespace sarseg::models
