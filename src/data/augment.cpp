#include "sarseg/data/augment.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sarseg::data {

AugmentDraw draw_augment(const AugmentOptions& options, Rng& rng) {
  AugmentDraw draw;
  // Always draw the same number of values so enabling one option does not shift the others.
  const bool flip_rows = rng.coin();
  const bool flip_cols = rng.coin();
  const int rot = static_cast<int>(rng.uniform_int(0, 3));
  const double u = rng.uniform();
  if (options.flips) {
    draw.flip_rows = flip_rows;
    draw.flip_cols = flip_cols;
  }
  if (options.rot90) draw.rot90 = rot;
  if (options.scale > 0.0) draw.zoom = 1.0 + options.scale * (2.0 * u - 1.0);
  return draw;
}

Patch extract_patch(const SceneWindows& scene, int64_t row, int64_t col, int64_t crop) {
  const SceneWindows::Shape shape = scene.shape();
  Patch patch;
  patch.size = crop;
  patch.channels = shape.channels;
  patch.input.resize(static_cast<size_t>(shape.channels * crop * crop));
  scene.read_input(patch.input.data(), row, col, crop, crop);
  for (int64_t t = 0; t < shape.tasks; ++t) {
    std::vector<uint8_t> label(static_cast<size_t>(crop * crop));
    scene.read_target(t, label.data(), row, col, crop, crop);
    patch.labels.push_back(std::move(label));
  }
  return patch;
}

namespace {

// Source (row, col) of output pixel (r, c) after flips then `rot` counter-clockwise quarter turns
// (numpy/torch rot90 on the (row, col) plane).
template <typename T>
void remap(std::vector<T>& plane, int64_t n, bool flip_rows, bool flip_cols, int rot) {
  std::vector<T> out(plane.size());
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < n; ++c) {
      int64_t sr = r, sc = c;
      // Undo the rotation: rot90 k=1 maps out(r, c) = in(c, n-1-r).
      for (int k = 0; k < rot; ++k) {
        const int64_t tr = sc, tc = n - 1 - sr;
        sr = tr;
        sc = tc;
      }
      if (flip_rows) sr = n - 1 - sr;
      if (flip_cols) sc = n - 1 - sc;
      out[static_cast<size_t>(r * n + c)] = plane[static_cast<size_t>(sr * n + sc)];
    }
  }
  plane.swap(out);
}

}  // namespace

void flip_rotate(Patch& patch, bool flip_rows, bool flip_cols, int rot90) {
  rot90 = ((rot90 % 4) + 4) % 4;
  if (!flip_rows && !flip_cols && rot90 == 0) return;
  const int64_t n = patch.size;
  const size_t plane = static_cast<size_t>(n * n);
  for (int64_t c = 0; c < patch.channels; ++c) {
    std::vector<float> channel(patch.input.begin() + static_cast<std::ptrdiff_t>(c * plane),
                               patch.input.begin() + static_cast<std::ptrdiff_t>((c + 1) * plane));
    remap(channel, n, flip_rows, flip_cols, rot90);
    std::copy(channel.begin(), channel.end(),
              patch.input.begin() + static_cast<std::ptrdiff_t>(c * plane));
  }
  for (auto& label : patch.labels)
    remap(label, n, flip_rows, flip_cols, rot90);
}

Patch resize_patch(const Patch& patch, int64_t size) {
  Patch out;
  out.size = size;
  out.channels = patch.channels;
  const int64_t n = patch.size;
  const double scale = static_cast<double>(n) / static_cast<double>(size);
  // Bilinear, align_corners=false (torch's source-index rule, clamped at 0).
  std::vector<int64_t> i0(static_cast<size_t>(size)), i1(static_cast<size_t>(size));
  std::vector<float> frac(static_cast<size_t>(size));
  std::vector<int64_t> nearest(static_cast<size_t>(size));
  for (int64_t d = 0; d < size; ++d) {
    double src = std::max(0.0, scale * (static_cast<double>(d) + 0.5) - 0.5);
    const int64_t lo = std::min<int64_t>(static_cast<int64_t>(src), n - 1);
    i0[static_cast<size_t>(d)] = lo;
    i1[static_cast<size_t>(d)] = std::min<int64_t>(lo + 1, n - 1);
    frac[static_cast<size_t>(d)] = static_cast<float>(src - static_cast<double>(lo));
    nearest[static_cast<size_t>(d)] =
        std::min<int64_t>(static_cast<int64_t>(std::floor(static_cast<double>(d) * scale)), n - 1);
  }
  out.input.resize(static_cast<size_t>(patch.channels * size * size));
  for (int64_t c = 0; c < patch.channels; ++c) {
    const float* src = patch.input.data() + static_cast<size_t>(c * n * n);
    float* dst = out.input.data() + static_cast<size_t>(c * size * size);
    for (int64_t r = 0; r < size; ++r) {
      const float fr = frac[static_cast<size_t>(r)];
      const float* row0 = src + i0[static_cast<size_t>(r)] * n;
      const float* row1 = src + i1[static_cast<size_t>(r)] * n;
      for (int64_t k = 0; k < size; ++k) {
        const float fc = frac[static_cast<size_t>(k)];
        const int64_t a = i0[static_cast<size_t>(k)], b = i1[static_cast<size_t>(k)];
        const float top = row0[a] + (row0[b] - row0[a]) * fc;
        const float bottom = row1[a] + (row1[b] - row1[a]) * fc;
        dst[r * size + k] = top + (bottom - top) * fr;
      }
    }
  }
  for (const auto& label : patch.labels) {
    std::vector<uint8_t> resized(static_cast<size_t>(size * size));
    for (int64_t r = 0; r < size; ++r)
      for (int64_t k = 0; k < size; ++k)
        resized[static_cast<size_t>(r * size + k)] = label[static_cast<size_t>(
            nearest[static_cast<size_t>(r)] * n + nearest[static_cast<size_t>(k)])];
    out.labels.push_back(std::move(resized));
  }
  return out;
}

Patch make_sample(const SceneWindows& scene, int64_t row, int64_t col, int64_t patch_size,
                  const AugmentDraw& draw) {
  Patch patch;
  if (draw.zoom == 1.0) {
    patch = extract_patch(scene, row, col, patch_size);
  } else {
    // Zoom > 1 magnifies: a smaller window around the same centre, resampled up.
    const SceneWindows::Shape shape = scene.shape();
    const int64_t limit = std::min(shape.height, shape.width);
    const int64_t crop = std::clamp<int64_t>(
        static_cast<int64_t>(std::lround(static_cast<double>(patch_size) / draw.zoom)), 1, limit);
    const int64_t top =
        std::clamp<int64_t>(row + patch_size / 2 - crop / 2, 0, shape.height - crop);
    const int64_t left =
        std::clamp<int64_t>(col + patch_size / 2 - crop / 2, 0, shape.width - crop);
    patch = extract_patch(scene, top, left, crop);
    if (crop != patch_size) patch = resize_patch(patch, patch_size);
  }
  flip_rotate(patch, draw.flip_rows, draw.flip_cols, draw.rot90);
  return patch;
}

CutMixDraw draw_cutmix(const CutMixOptions& options, int64_t patch_size, int64_t position,
                       int64_t epoch_samples, Rng& rng) {
  CutMixDraw draw;
  if (!options.enabled() || epoch_samples < 2) return draw;
  if (rng.uniform() >= options.probability) return draw;
  // Any other position of the epoch: uniform over the epoch_samples - 1 others.
  const int64_t other = rng.uniform_int(0, epoch_samples - 2);
  draw.partner = other >= position ? other + 1 : other;
  const double lambda = rng.beta(options.beta, options.beta);
  const double side = static_cast<double>(patch_size) * std::sqrt(1.0 - lambda);
  const int64_t half = static_cast<int64_t>(side / 2.0);
  const int64_t centre_row = rng.uniform_int(0, patch_size - 1);
  const int64_t centre_col = rng.uniform_int(0, patch_size - 1);
  const int64_t top = std::clamp<int64_t>(centre_row - half, 0, patch_size);
  const int64_t bottom = std::clamp<int64_t>(centre_row + half, 0, patch_size);
  const int64_t left = std::clamp<int64_t>(centre_col - half, 0, patch_size);
  const int64_t right = std::clamp<int64_t>(centre_col + half, 0, patch_size);
  draw.row = top;
  draw.col = left;
  draw.height = bottom - top;
  draw.width = right - left;
  draw.apply = draw.height > 0 && draw.width > 0;
  return draw;
}

void paste_box(Patch& target, const Patch& source, const CutMixDraw& box) {
  if (!box.apply) return;
  const int64_t n = target.size;
  for (int64_t c = 0; c < target.channels; ++c) {
    for (int64_t r = box.row; r < box.row + box.height; ++r) {
      const size_t offset = static_cast<size_t>((c * n + r) * n + box.col);
      std::copy_n(source.input.begin() + static_cast<std::ptrdiff_t>(offset), box.width,
                  target.input.begin() + static_cast<std::ptrdiff_t>(offset));
    }
  }
  for (size_t t = 0; t < target.labels.size(); ++t) {
    for (int64_t r = box.row; r < box.row + box.height; ++r) {
      const size_t offset = static_cast<size_t>(r * n + box.col);
      std::copy_n(source.labels[t].begin() + static_cast<std::ptrdiff_t>(offset), box.width,
                  target.labels[t].begin() + static_cast<std::ptrdiff_t>(offset));
    }
  }
}

}  // namespace sarseg::data
