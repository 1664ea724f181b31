// Internal: layers shared by the decoders, and one registry entry per decoder file.
#pragma once

#include <torch/torch.h>

#include "../backbones.h"
#include "sarseg/models/decoders.h"
#include "sarseg/models/layers.h"

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

using models::Dropout;  // layers.h

// One per decoder file; decoder_registry() lists them.
DecoderInfo deeplabv3_decoder();   // deeplabv3.cpp
DecoderInfo unet_decoder();        // unet.cpp
DecoderInfo plain_unet_decoder();  // plain_unet.cpp

}  // namespace sarseg::models::detail
