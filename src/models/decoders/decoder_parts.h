// Internal: layers shared by the decoders, and one registry entry per decoder file.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../backbones.h"
#include "sarseg/models/decoders.h"
#include "sarseg/models/layers.h"
#include "sarseg/models/model.h"
#include "sarseg/util/error.h"

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

// UserError unless spec.decoder_channels has an entry per stage of a `depth`-stage decoder.
inline void require_stage_channels(const ModelSpec& spec, int64_t depth, const std::string& decoder,
                                   const std::string& hint) {
  require(static_cast<int64_t>(spec.decoder_channels.size()) >= depth,
          decoder + ": decoder_channels has " + std::to_string(spec.decoder_channels.size()) +
              " entries but encoder_depth is " + std::to_string(depth) + ": " + hint);
}

// The registry entry of decoder class `Decoder` (constructed from (spec, encoder channels)).
template <typename Decoder>
DecoderInfo decoder_info(std::string name, std::string description, int64_t default_encoder_depth,
                         bool int8_supported = false) {
  DecoderInfo info;
  info.name = std::move(name);
  info.description = std::move(description);
  info.default_encoder_depth = default_encoder_depth;
  info.int8_supported = int8_supported;
  info.build = [](const ModelSpec& spec, const std::vector<int64_t>& encoder_channels) {
    return std::make_shared<Decoder>(spec, encoder_channels);
  };
  return info;
}

// One per decoder file; decoder_registry() lists them.
DecoderInfo deeplabv3_decoder();   // deeplabv3.cpp
DecoderInfo unet_decoder();        // unet.cpp
DecoderInfo plain_unet_decoder();  // plain_unet.cpp

}  // namespace sarseg::models::detail
