#include "sarseg/data/scene_input.h"

#include <cstring>

namespace sarseg::data {

SceneInput scene_to_input(const io::Scene& scene, const Normalization& normalization) {
  const SceneNormalizer normalizer(scene, normalization);
  const int64_t h = scene.height, w = scene.width;
  SceneInput out;
  out.input = torch::empty({normalizer.channels(), h, w}, torch::kFloat32);
  normalizer.window(out.input.data_ptr<float>(), 0, 0, h, w);
  out.valid = torch::empty({h, w}, torch::kBool);
  bool* valid = out.valid.data_ptr<bool>();
  const auto& mask = normalizer.valid().data;
  for (size_t i = 0; i < mask.size(); ++i)
    valid[i] = mask[i] != 0;
  return out;
}

}  // namespace sarseg::data
