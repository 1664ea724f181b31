// Int8 inference on the CPU for the paper's model family: a ResNet encoder (resnet18/34/50) with
// the deeplabv3 decoder.
//
//   models::Int8Model int8(model);           // folds BatchNorm, quantizes and prepacks weights
//   int8.calibrate({crops});                 // activation ranges from an fp32 pass over crops
//   auto logits = int8.forward_heads(tile);  // fp32 logits at the input size, as the model's
//
// How it works. Every convolution gets its BatchNorm folded in; weights are quantized per output
// channel (symmetric, 7 bits: -63..63), activations per tensor (unsigned, 8 bits). The 7-bit
// weights keep oneDNN's AVX2 int8 kernels exact on CPUs without VNNI: they add pairs of u8 x s8
// products in 16 bits, and 2 x 255 x 63 fits where 2 x 255 x 127 saturates (measured: 8-bit
// weights and activations turned a trained model's map into one class). Of the two, activations
// keep the 8th bit: one scale per tensor covers a wider spread than one per output channel, and it
// halved the pixels whose class changed in a near-tie stress case (2.5 % against 6-8 %,
// docs/inference.md).
// Activation ranges are the minimum and maximum seen in an fp32 pass of the same folded graph
// over the calibration crops. Convolution + ReLU, residual add + ReLU, max and average pooling, the
// ASPP's bilinear upsampling and concatenation run on int8 tensors (LibTorch's quantized CPU
// kernels, oneDNN engine); the decoder's output is turned back into fp32 before the 1x1 classifiers
// and the final bilinear upsampling, which stay in fp32.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "sarseg/models/model.h"

namespace sarseg::models {

// "" when `spec` can run in int8, otherwise why not (which architectures can).
std::string int8_unsupported_reason(const ModelSpec& spec);
// True when this LibTorch has a quantized CPU engine (oneDNN or FBGEMM).
bool int8_engine_available();

class Int8Model {
 public:
  // A snapshot of `model`'s parameters and BatchNorm statistics (later changes to the model are
  // not seen). UserError when the architecture is not supported or no int8 engine exists.
  explicit Int8Model(const SegmentationModel& model);
  // The same folded graph without quantization, run in bf16 by forward_heads_bf16 (precision
  // auto on an AMX CPU, bf16 with folding): BatchNorm folded into every convolution, weights cast
  // to bf16 channels-last once, no calibration and no int8 engine needed. Same architectures as
  // int8.
  static Int8Model folded_bf16(const SegmentationModel& model);
  ~Int8Model();
  Int8Model(Int8Model&&) noexcept;
  Int8Model& operator=(Int8Model&&) noexcept;

  // Sets the activation ranges from an fp32 pass over `crops` (each [N, C, H, W], normalised
  // like the model's input), replacing any earlier calibration.
  void calibrate(const std::vector<torch::Tensor>& crops);
  bool calibrated() const;

  // Logits of every head, fp32 [N, outputs, H, W]. std::logic_error before calibrate().
  std::vector<torch::Tensor> forward_heads(const torch::Tensor& x) const;
  // The same folded graph in fp32 (what calibration observes); equals the model's eval forward
  // up to rounding.
  std::vector<torch::Tensor> forward_heads_fp32(const torch::Tensor& x) const;

  // Logits of every head, fp32, from the bf16 folded graph (folded_bf16 only; std::logic_error
  // otherwise). Autocast is not needed and is ignored inside.
  std::vector<torch::Tensor> forward_heads_bf16(const torch::Tensor& x) const;

  int64_t quantized_convolutions() const;

 private:
  Int8Model(const SegmentationModel& model, bool quantize);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sarseg::models
