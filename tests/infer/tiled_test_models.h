// Small stand-ins for a trained model shared by the tiler's tests: a seeded conv3x3 as the
// network and tiles small enough that a 70 x 90 scene has several, with overlaps.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "sarseg/infer/inference.h"

namespace sarseg::infer::testing {

// conv3x3 -> 4 classes; `seed` sets the weights; `conv` keeps the layer for the caller.
inline TiledModel conv_model(torch::nn::Conv2d& conv, uint64_t seed) {
  torch::manual_seed(seed);
  conv = torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1));
  TiledModel model;
  model.forward = [impl = conv.ptr()](const torch::Tensor& x) {
    return std::vector<torch::Tensor>{impl->forward(x) * 3.0};
  };
  model.in_channels = 3;
  model.size_multiple = 2;
  model.heads = {models::HeadSpec{"classes", 4, false}};
  return model;
}

inline InferenceOptions small_tiles() {
  InferenceOptions options;
  options.tile = 32;
  options.overlap = 8;
  return options;
}

}  // namespace sarseg::infer::testing
