// Small hand-made scenes for the data tests.
#pragma once

#include <cmath>
#include <string>

#include "sarseg/io/scene.h"

namespace sarseg::testing {

// Bands "a" (value = row * 100 + col) and "b" (value = -col), label "L" = (row + col) % classes,
// all valid.
inline io::Scene make_ramp_scene(int64_t h, int64_t w, int classes = 3, std::string id = "ramp") {
  io::Scene scene;
  scene.id = std::move(id);
  scene.height = h;
  scene.width = w;
  io::Band a{"a", "dB", io::FloatRaster(h, w)};
  io::Band b{"b", "dB", io::FloatRaster(h, w)};
  io::LabelRaster label(h, w);
  for (int64_t r = 0; r < h; ++r) {
    for (int64_t c = 0; c < w; ++c) {
      a.pixels.at(r, c) = static_cast<float>(r * 100 + c);
      b.pixels.at(r, c) = static_cast<float>(-c);
      label.at(r, c) = static_cast<uint8_t>((r + c) % classes);
    }
  }
  scene.bands = {a, b};
  scene.labels["L"] = label;
  return scene;
}

}  // namespace sarseg::testing
