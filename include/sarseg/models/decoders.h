// Decoder registry: each decoder is one file in src/models/decoders/ with one DecoderInfo; the
// registry lists them (src/models/decoders/registry.cpp). Names, help texts, config choices and
// `sarseg models` all come from here.
//
//   const DecoderInfo& unet = find_decoder("unet");   // UserError listing the names if unknown
//   unet.default_encoder_depth;                        // 5
//
// Torch-free: the configuration code can list the decoders without the torch headers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sarseg::models {

struct ModelSpec;
namespace detail {
class DecoderImpl;  // src/models/backbones.h
}

struct DecoderInfo {
  std::string name;
  std::string description;  // one line for `sarseg models`
  // Encoder stages used when ModelSpec::encoder_depth is 0.
  int64_t default_encoder_depth = 5;
  // int8 inference (models/int8.h) implements this decoder's layers.
  bool int8_supported = false;
  // Builds the decoder for `spec` on encoder features with channels [input, stage1..stage_depth].
  std::function<std::shared_ptr<detail::DecoderImpl>(const ModelSpec& spec,
                                                     const std::vector<int64_t>& encoder_channels)>
      build;
};

const std::vector<DecoderInfo>& decoder_registry();
std::vector<std::string> decoder_names();  // registry order: "deeplabv3", "unet"
// UserError listing the valid names when unknown.
const DecoderInfo& find_decoder(const std::string& name);
// UserError listing the valid names when unknown.
void check_decoder_name(const std::string& name);

}  // namespace sarseg::models
