// Raster building blocks for the simulator: smooth random fields, blurs, distance transforms.
// Everything is O(pixels) regardless of the length scales, so a 1000x1000 scene stays fast.
#pragma once

#include <cstdint>
#include <vector>

#include "sarseg/io/scene.h"
#include "sarseg/synth/random.h"

namespace sarseg::synth {

// Separable box blur of a row-major h x w float image with edge clamping, `passes` times
// (three passes approximate a Gaussian). Radius 0 leaves the image unchanged.
void box_blur(std::vector<float>& image, int64_t height, int64_t width, int radius, int passes = 3);

// Zero-mean, unit-variance Gaussian random field whose correlation length (the Gaussian
// kernel's standard deviation) is about `correlation_px` pixels. White noise is drawn on a
// coarse grid (spacing correlation_px / 2), smoothed there with box passes and bilinearly
// upsampled, so the cost does not grow with the correlation length.
io::FloatRaster gaussian_field(int64_t height, int64_t width, double correlation_px, Rng& rng);

// Euclidean distance (in pixels) from every pixel to the nearest pixel where `mask` is non-zero
// (Felzenszwalb & Huttenlocher 2012, exact, linear time). Returns +infinity everywhere when the
// mask is empty.
io::FloatRaster distance_to_mask(const io::LabelRaster& mask);

// Smooth step from 0 (x <= edge0) to 1 (x >= edge1).
inline float smoothstep(float edge0, float edge1, float x) {
  float t = (x - edge0) / (edge1 - edge0);
  t = t < 0 ? 0 : (t > 1 ? 1 : t);
  return t * t * (3 - 2 * t);
}

}  // namespace sarseg::synth
