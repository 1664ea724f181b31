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

// conv.forward(x). Training a 1x1 convolution (stride 1, no padding, dilation or groups) in bf16
// on the CPU, its weight gradient is one matrix product over the positions: oneDNN 2.6's bf16
// weight gradient of the paper's ASPP projection (1280 -> 256 on 16 x 16, batch 8) took 8.8 ms on
// an AMX CPU, the product 2.2 ms. Forward and input gradient are torch's in every case.
torch::Tensor conv_forward(torch::nn::Conv2dImpl& conv, const torch::Tensor& x);

// The weight and bias of `conv` with the eval-mode `bn` that follows it folded in (computed in
// double, returned in the convolution's dtype): conv'(x) = bn(conv(x)).
struct FoldedConv {
  torch::Tensor weight;
  torch::Tensor bias;
};
FoldedConv fold_batchnorm_parameters(const torch::nn::Conv2dImpl& conv,
                                     const torch::nn::BatchNorm2dImpl& bn);

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
  double p() const { return p_; }
  void pretty_print(std::ostream& stream) const override { stream << "Dropout(p=" << p_ << ")"; }

 private:
  double p_;
};
TORCH_MODULE(Dropout);

// ReLU6 (torchvision's MobileNetV2 activation), in place: min(max(x, 0), 6). LibTorch 1.13's CPU
// backward of hardtanh has no bf16 kernel, so under bf16 autocast a training step of
// torch::nn::ReLU6 fails; this one masks the gradient with the output instead (the same gradient:
// zero where the output is 0 or 6). fp32 runs torch's own ReLU6. No parameters or buffers.
class Relu6Impl : public torch::nn::Cloneable<Relu6Impl> {
 public:
  void reset() override {}
  torch::Tensor forward(torch::Tensor x);
  void pretty_print(std::ostream& stream) const override { stream << "ReLU6(inplace=true)"; }
};
TORCH_MODULE(Relu6);

// relu(bn(x)). For a training-mode BatchNorm2d (affine, with running statistics) on a bf16
// channels-last CPU map it runs fused: two passes over the map forward and two backward, the
// ReLU's mask recomputed from x, where LibTorch 1.13 takes five and eight; the running statistics
// are updated as torch does. Every other case runs bn.forward(x).relu_().
torch::Tensor batchnorm_relu(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x);

// relu6(bn(x)) (MobileNetV2), fused in the same cases as batchnorm_relu, the gradient masked where
// the bf16 output is 0 or 6 as Relu6 masks it; Relu6()(bn.forward(x)) otherwise.
torch::Tensor batchnorm_relu6(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x);

// bn(x), fused in the same cases as batchnorm_relu (LibTorch 1.13 takes five passes forward and
// three backward); bn.forward(x) otherwise.
torch::Tensor batchnorm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x);

// relu(bn(x) + residual), the end of a ResNet block: fused in the same cases as batchnorm_relu
// when the residual has x's shape, type and layout (one pass forward where torch takes seven with
// the sum and the ReLU, and the ReLU's backward inside BatchNorm's); bn.forward(x), an in-place
// sum and ReLU otherwise.
torch::Tensor batchnorm_add_relu(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x,
                                 const torch::Tensor& residual);

// sequence.forward(x) from its module `first` on, with each BatchNorm2d run fused (as
// batchnorm_relu or batchnorm_relu6 with the ReLU or Relu6 that follows it, else as batchnorm),
// each Conv2d through conv_forward and each nested Sequential the same way.
torch::Tensor forward_fusing_batchnorm(torch::nn::SequentialImpl& sequence, torch::Tensor x,
                                       size_t first = 0);

// F::interpolate(x, size, bilinear, align_corners=false). Enlarging an fp32 or bf16 CPU map it
// runs as two separable passes in fp32 NCHW, parallel over the maps, forward and backward
// (LibTorch 1.13 scatters the backward pixel by pixel), and returns x's type and layout; every
// other case calls F::interpolate.
torch::Tensor upsample_bilinear(const torch::Tensor& x, const std::vector<int64_t>& size);

// F::interpolate(x, scale 2, nearest) (the U-Net decoders' upsampling). For a bf16 channels-last
// CPU map it is a broadcast of each pixel to 2 x 2, whose backward sums the four gradients in one
// reduction: LibTorch 1.13's bf16 backward scattered them (23 ms of the quick profile's training
// step). Every other case calls F::interpolate.
torch::Tensor upsample_nearest2x(const torch::Tensor& x);

// The dropout probability of `module` when it is a dropout layer (torch::nn::Dropout, Dropout2d
// or models::Dropout), else 0: Monte Carlo dropout finds the layers to keep active with it.
double dropout_rate(const torch::nn::Module& module);

// Puts every 4-D parameter (convolution weights) of `module` into channels-last (NHWC) layout, in
// place: optimisers and other holders of the parameters keep seeing the same tensors.
void convert_to_channels_last(torch::nn::Module& module);

}  // namespace sarseg::models
