#include <gtest/gtest.h>

#include <set>

#include "sarseg/data/sampler.h"
#include "sarseg/util/error.h"
#include "test_scenes.h"

using namespace sarseg;

namespace {

// A 40x40 scene whose left half (cols < 20) has no label.
data::PreparedScene half_labelled_scene() {
  auto scene = sarseg::testing::make_ramp_scene(40, 40, 3);
  for (int64_t r = 0; r < 40; ++r)
    for (int64_t c = 0; c < 20; ++c)
      scene.labels["L"].at(r, c) = 255;
  data::Normalization norm{{"a"}, {0.0}, {1.0}, "t", {}};
  return data::prepare_scene(scene, norm, {{"L", 3, false, 1.0}}, -1);
}

}  // namespace

TEST(Sampler, EveryPatchMeetsTheMinimumValidFraction) {
  std::vector<data::PreparedScene> scenes = {half_labelled_scene()};
  data::SamplerOptions options;
  options.patch_size = 10;
  options.per_scene = 50;
  options.min_valid_fraction = 0.8;
  const auto draw = data::draw_patches(scenes, options, 7, "data.train");
  ASSERT_EQ(draw.patches.size(), 50u);
  int left_of_boundary = 0;
  for (const auto& p : draw.patches) {
    EXPECT_GE(scenes[0].sample_valid.count(p.row, p.col, 10, 10), 80);
    EXPECT_GE(p.col, 12);  // at most 2 of 10 columns may lie in the unlabelled half
    EXPECT_LE(p.row + 10, 40);
    EXPECT_LE(p.col + 10, 40);
    left_of_boundary += p.col < 20;
  }
  EXPECT_GT(left_of_boundary, 0);  // partially unlabelled patches are allowed, not excluded
}

TEST(Sampler, DeterministicForASeedAndDifferentAcrossSeeds) {
  std::vector<data::PreparedScene> scenes = {half_labelled_scene(), half_labelled_scene()};
  data::SamplerOptions options;
  options.patch_size = 8;
  options.per_scene = 20;
  options.min_valid_fraction = 0.5;
  const auto a = data::draw_patches(scenes, options, 3, "x").patches;
  const auto b = data::draw_patches(scenes, options, 3, "x").patches;
  const auto c = data::draw_patches(scenes, options, 4, "x").patches;
  ASSERT_EQ(a.size(), 40u);
  bool same_ab = true, same_ac = true;
  for (size_t i = 0; i < a.size(); ++i) {
    same_ab &= a[i].scene == b[i].scene && a[i].row == b[i].row && a[i].col == b[i].col;
    same_ac &= a[i].scene == c[i].scene && a[i].row == c[i].row && a[i].col == c[i].col;
  }
  EXPECT_TRUE(same_ab);
  EXPECT_FALSE(same_ac);
  // Per-scene mode: 20 from each scene.
  int from_first = 0;
  for (const auto& p : a)
    from_first += p.scene == 0;
  EXPECT_EQ(from_first, 20);
}

TEST(Sampler, PerEpochModeDrawsAFixedCountFromRandomScenes) {
  std::vector<data::PreparedScene> scenes = {half_labelled_scene(), half_labelled_scene(),
                                             half_labelled_scene()};
  data::SamplerOptions options;
  options.patch_size = 8;
  options.per_epoch = 30;
  options.min_valid_fraction = 0.0;
  const auto draw = data::draw_patches(scenes, options, 11, "x");
  EXPECT_EQ(draw.patches.size(), 30u);
  std::set<int> used;
  for (const auto& p : draw.patches)
    used.insert(p.scene);
  EXPECT_EQ(used.size(), 3u);
}

TEST(Sampler, ImpossibleRequestsAreUserErrors) {
  std::vector<data::PreparedScene> scenes = {half_labelled_scene()};
  data::SamplerOptions options;
  options.patch_size = 64;  // larger than the scene
  EXPECT_THROW(data::draw_patches(scenes, options, 1, "data.train"), UserError);
  options.patch_size = 40;
  options.min_valid_fraction = 0.9;  // only half the scene is labelled
  EXPECT_THROW(data::draw_patches(scenes, options, 1, "data.train"), UserError);
  EXPECT_THROW(data::draw_patches({}, options, 1, "data.train"), UserError);
}

TEST(ValidityIndex, RectangleCountsMatchBruteForce) {
  const int64_t h = 7, w = 9;
  std::vector<uint8_t> mask(static_cast<size_t>(h * w));
  for (size_t i = 0; i < mask.size(); ++i)
    mask[i] = (i * 7 + 3) % 5 < 2;
  data::ValidityIndex index(mask, h, w);
  for (int64_t r = 0; r < h; ++r)
    for (int64_t c = 0; c < w; ++c)
      for (int64_t hh = 1; r + hh <= h; hh += 2)
        for (int64_t ww = 1; c + ww <= w; ww += 3) {
          int64_t expected = 0;
          for (int64_t i = r; i < r + hh; ++i)
            for (int64_t j = c; j < c + ww; ++j)
              expected += mask[static_cast<size_t>(i * w + j)];
          ASSERT_EQ(index.count(r, c, hh, ww), expected);
        }
}
