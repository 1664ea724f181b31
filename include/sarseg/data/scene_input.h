// A whole scene as model input, for evaluation and prediction.
//
//   auto in = data::scene_to_input(scene, bundle.normalization);
//   auto logits = model->forward(in.input.unsqueeze(0));   // mask predictions with in.valid
#pragma once

#include <torch/torch.h>

#include "sarseg/data/normalization.h"
#include "sarseg/io/scene.h"

namespace sarseg::data {

struct SceneInput {
  torch::Tensor input;  // [C, H, W] float32, normalised; 0 where invalid
  torch::Tensor valid;  // [H, W] bool: scene.valid and every band finite
};

// Bands taken by name in normalization.bands order; UserError naming the scene and the bands it
// has when one is missing.
SceneInput scene_to_input(const io::Scene& scene, const Normalization& normalization);

}  // namespace sarseg::data
