#include "sarseg/data/sampler.h"

#include <cmath>

#include "sarseg/data/random.h"
#include "sarseg/util/error.h"

namespace sarseg::data {
namespace {

// One accepted location in `scene`, or false after the attempt budget.
bool draw_one(const SceneWindows& windows, const SamplerOptions& options, int64_t needed, Rng& rng,
              PatchLocation& out) {
  const SceneWindows::Shape scene = windows.shape();
  const int64_t p = options.patch_size;
  for (int64_t attempt = 0; attempt < options.max_attempts_per_patch; ++attempt) {
    const int64_t row = rng.uniform_int(0, scene.height - p);
    const int64_t col = rng.uniform_int(0, scene.width - p);
    if (windows.count_valid(row, col, p, p) >= needed) {
      out.row = static_cast<int32_t>(row);
      out.col = static_cast<int32_t>(col);
      return true;
    }
  }
  return false;
}

}  // namespace

SampleDraw draw_patches(const std::vector<PreparedScene>& scenes, const SamplerOptions& options,
                        uint64_t seed, const std::string& split) {
  return draw_window_patches(scene_pointers(scenes), options, seed, split);
}

SampleDraw draw_window_patches(const std::vector<const SceneWindows*>& scenes,
                               const SamplerOptions& options, uint64_t seed,
                               const std::string& split) {
  require(!scenes.empty(), split + ": no scenes to sample patches from");
  require(options.patch_size > 0, "data.patch_size must be positive");
  const int64_t p = options.patch_size;
  // At least one valid pixel, so a patch always carries some loss.
  const int64_t needed = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(options.min_valid_fraction * static_cast<double>(p * p))));
  SampleDraw draw;
  std::vector<int32_t> usable;
  for (size_t i = 0; i < scenes.size(); ++i) {
    const SceneWindows::Shape scene = scenes[i]->shape();
    if (scene.height < p || scene.width < p) {
      draw.warnings.push_back(split + ": scene " + scene.id + " (" + std::to_string(scene.height) +
                              "x" + std::to_string(scene.width) + ") is smaller than the patch (" +
                              std::to_string(p) + "); skipped");
      continue;
    }
    usable.push_back(static_cast<int32_t>(i));
  }
  require(!usable.empty(), split + ": every scene is smaller than data.patch_size=" +
                               std::to_string(p) + "; use a smaller data.patch_size");
  if (options.per_epoch > 0) {
    Rng rng(Rng::mix(seed, {0x5ca1ab1eULL}));
    int64_t failures = 0;
    while (static_cast<int64_t>(draw.patches.size()) < options.per_epoch) {
      PatchLocation location;
      location.scene =
          usable[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(usable.size()) - 1))];
      if (draw_one(*scenes[static_cast<size_t>(location.scene)], options, needed, rng, location)) {
        draw.patches.push_back(location);
      } else {
        // Scenes are chosen at random, so a long run of failures means too little valid area.
        require(++failures < 20 * options.per_epoch + 100,
                split + ": cannot find patches with data.min_valid_fraction=" +
                    std::to_string(options.min_valid_fraction) +
                    "; lower it or use a smaller data.patch_size");
      }
    }
    return draw;
  }
  for (int32_t index : usable) {
    const SceneWindows& windows = *scenes[static_cast<size_t>(index)];
    const std::string id = windows.shape().id;
    Rng rng(Rng::mix(seed, {static_cast<uint64_t>(index)}));
    int64_t found = 0;
    for (int64_t k = 0; k < options.per_scene; ++k) {
      PatchLocation location;
      location.scene = index;
      if (!draw_one(windows, options, needed, rng, location)) break;
      draw.patches.push_back(location);
      ++found;
    }
    if (found < options.per_scene) {
      draw.warnings.push_back(
          split + ": scene " + id + " gave " + std::to_string(found) + " of " +
          std::to_string(options.per_scene) +
          " patches with valid fraction >= " + std::to_string(options.min_valid_fraction));
    }
  }
  require(!draw.patches.empty(), split + ": no patch reaches data.min_valid_fraction=" +
                                     std::to_string(options.min_valid_fraction) +
                                     "; lower it or use a smaller data.patch_size");
  return draw;
}

}  // namespace sarseg::data
