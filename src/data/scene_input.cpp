#include "sarseg/data/scene_input.h"

#include <cmath>

#include "sarseg/util/error.h"

namespace sarseg::data {

SceneInput scene_to_input(const io::Scene& scene, const Normalization& normalization) {
  const int64_t channels = static_cast<int64_t>(normalization.bands.size());
  require(channels > 0, "normalisation names no input band");
  const int64_t h = scene.height, w = scene.width;
  const size_t pixels = static_cast<size_t>(h * w);
  SceneInput out;
  out.input = torch::empty({channels, h, w}, torch::kFloat32);
  out.valid = torch::empty({h, w}, torch::kBool);
  bool* valid = out.valid.data_ptr<bool>();
  for (size_t i = 0; i < pixels; ++i)
    valid[i] = scene.valid.empty() || scene.valid.data[i] != 0;
  float* data = out.input.data_ptr<float>();
  for (int64_t c = 0; c < channels; ++c) {
    const io::Band& band = scene.band(normalization.bands[static_cast<size_t>(c)]);
    require(band.pixels.height == h && band.pixels.width == w,
            "scene " + scene.id + ": band '" + band.name + "' size differs from the scene");
    const float mean = static_cast<float>(normalization.mean[static_cast<size_t>(c)]);
    const float inv_std = static_cast<float>(1.0 / normalization.std[static_cast<size_t>(c)]);
    float* plane = data + static_cast<size_t>(c) * pixels;
    for (size_t i = 0; i < pixels; ++i) {
      const float v = band.pixels.data[i];
      if (!std::isfinite(v)) valid[i] = false;
      plane[i] = (v - mean) * inv_std;
    }
  }
  for (int64_t c = 0; c < channels; ++c) {
    float* plane = data + static_cast<size_t>(c) * pixels;
    for (size_t i = 0; i < pixels; ++i)
      if (!valid[i]) plane[i] = 0.0f;
  }
  return out;
}

}  // namespace sarseg::data
