// SegmentationModel: encoder from the registry + decoder, one logit map per head.
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "backbones.h"
#include "sarseg/models/decoders.h"
#include "sarseg/models/encoders.h"
#include "sarseg/models/model.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::models {

int64_t default_encoder_depth(const std::string& decoder) {
  return find_decoder(decoder).default_encoder_depth;
}

ModelSpec resolve_spec(const ModelSpec& spec) {
  ModelSpec resolved = spec;
  const auto& encoder = find_encoder(spec.encoder);
  check_decoder_name(spec.decoder);
  if (resolved.encoder_depth == 0) resolved.encoder_depth = default_encoder_depth(spec.decoder);
  const auto max_depth = static_cast<int64_t>(encoder.stage_channels.size());
  require(resolved.encoder_depth >= 1 && resolved.encoder_depth <= max_depth,
          "model: encoder_depth must be between 1 and " + std::to_string(max_depth) + " for " +
              spec.encoder + " (got " + std::to_string(spec.encoder_depth) +
              "); 0 picks the decoder's default");
  require(spec.in_channels >= 1,
          "model: in_channels must be at least 1 (got " + std::to_string(spec.in_channels) + ")");
  require(!spec.heads.empty(), "model: at least one head is needed (heads is empty)");
  std::set<std::string> names;
  for (const auto& head : spec.heads) {
    require(head.outputs >= 1, "model: head '" + head.name + "' needs outputs >= 1 (got " +
                                   std::to_string(head.outputs) + ")");
    require(names.insert(head.name).second,
            "model: head name '" + head.name + "' is used twice; give each head its own name");
  }
  return resolved;
}

std::string model_label(const ModelSpec& spec) {
  return spec.encoder + "+" + spec.decoder;
}

SegmentationModelImpl::SegmentationModelImpl(const ModelSpec& spec) : spec_(resolve_spec(spec)) {
  auto encoder = build_encoder(spec_.encoder, spec_.in_channels, spec_.encoder_depth);
  const auto channels = encoder->out_channels();
  std::shared_ptr<detail::DecoderImpl> decoder = find_decoder(spec_.decoder).build(spec_, channels);
  encoder_module_ = register_module("encoder", encoder);
  register_module("decoder", decoder);
  encoder_ = torch::nn::AnyModule(encoder);
  decoder_ = torch::nn::AnyModule(decoder);
  size_multiple_ = decoder->size_multiple();
  set_encoder_frozen(spec_.freeze_encoder);
  set_encoder_bn_frozen(spec_.freeze_encoder_bn);
}

std::vector<torch::Tensor> SegmentationModelImpl::encoder_features(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != spec_.in_channels) {
    throw UserError("model " + model_label(spec_) + ": input must be [N, " +
                    std::to_string(spec_.in_channels) +
                    ", H, W] (in_channels = " + std::to_string(spec_.in_channels) + "), got " +
                    c10::str(x.sizes()) + "; check the bands given to the model");
  }
  check_input_size(x.size(2), x.size(3));
  return encoder_.forward<std::vector<torch::Tensor>>(x);
}

std::vector<torch::Tensor> SegmentationModelImpl::forward_heads(const torch::Tensor& x) {
  return decoder_.forward<std::vector<torch::Tensor>>(encoder_features(x));
}

torch::Tensor SegmentationModelImpl::forward(const torch::Tensor& x) {
  return forward_heads(x).front();
}

torch::nn::Module& SegmentationModelImpl::encoder() {
  return *encoder_module_;
}

int64_t SegmentationModelImpl::size_multiple() const {
  return size_multiple_;
}

void SegmentationModelImpl::check_input_size(int64_t height, int64_t width) const {
  const int64_t m = size_multiple_;
  if (height > 0 && width > 0 && height % m == 0 && width % m == 0) return;
  auto nearest = [m](int64_t v) {
    const int64_t down = std::max<int64_t>(m, v / m * m);
    const int64_t up = std::max<int64_t>(m, (v + m - 1) / m * m);
    return std::abs(v - down) <= std::abs(up - v) ? down : up;
  };
  auto down = [m](int64_t v) { return std::max<int64_t>(m, v / m * m); };
  auto up = [m](int64_t v) { return std::max<int64_t>(m, (v + m - 1) / m * m); };
  auto size = [](int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); };
  std::string message = "input size " + size(height, width) + " cannot be taken by " +
                        model_label(spec_) + " (encoder_depth " +
                        std::to_string(spec_.encoder_depth) +
                        "): height and width must be positive multiples of " + std::to_string(m) +
                        "; nearest valid size " + size(nearest(height), nearest(width));
  const std::string smaller = size(down(height), down(width));
  const std::string larger = size(up(height), up(width));
  if (smaller != larger) message += " (smaller: " + smaller + ", larger: " + larger + ")";
  throw UserError(message);
}

void SegmentationModelImpl::set_encoder_frozen(bool frozen) {
  spec_.freeze_encoder = frozen;
  for (auto& parameter : encoder_module_->parameters())
    parameter.set_requires_grad(!frozen);
}

void SegmentationModelImpl::set_encoder_bn_frozen(bool frozen) {
  spec_.freeze_encoder_bn = frozen;
  encoder_bn_frozen_ = frozen;
  train(is_training());
}

void SegmentationModelImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (!encoder_bn_frozen_) return;
  for (auto& module : encoder_module_->modules()) {
    if (module->as<torch::nn::BatchNorm2d>()) module->eval();
  }
}

SegmentationModel build_model(const ModelSpec& spec) {
  torch::manual_seed(spec.seed);
  return SegmentationModel(spec);
}

}  // namespace sarseg::models
