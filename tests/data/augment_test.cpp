#include <gtest/gtest.h>
#include <torch/torch.h>

#include "sarseg/data/augment.h"
#include "test_scenes.h"

using namespace sarseg;

namespace {

data::PreparedScene prepared(int64_t h, int64_t w) {
  auto scene = sarseg::testing::make_ramp_scene(h, w, 7);
  data::Normalization norm{{"a", "b"}, {0.0, 0.0}, {1.0, 1.0}, "t", {}};
  return data::prepare_scene(scene, norm, {{"L", 7, false, 1.0}}, -1);
}

torch::Tensor input_tensor(const data::Patch& p) {
  return torch::from_blob(const_cast<float*>(p.input.data()), {p.channels, p.size, p.size},
                          torch::kFloat32)
      .clone();
}

torch::Tensor label_tensor(const data::Patch& p) {
  return torch::from_blob(const_cast<uint8_t*>(p.labels[0].data()), {p.size, p.size}, torch::kUInt8)
      .clone();
}

}  // namespace

TEST(Augment, ExtractCopiesTheWindow) {
  const auto scene = prepared(10, 12);
  const auto patch = data::extract_patch(scene, 2, 3, 4);
  EXPECT_EQ(patch.input[0], 203.f);          // band a at (2, 3)
  EXPECT_EQ(patch.input[1 * 16 + 5], -4.f);  // band b at (3, 4)
  EXPECT_EQ(patch.labels[0][0], (2 + 3) % 7);
}

TEST(Augment, FlipsAndRotationsMatchTorch) {
  const auto scene = prepared(8, 8);
  const auto base = data::extract_patch(scene, 1, 2, 5);
  const auto x = input_tensor(base);
  const auto y = label_tensor(base);
  for (int flip_rows = 0; flip_rows < 2; ++flip_rows)
    for (int flip_cols = 0; flip_cols < 2; ++flip_cols)
      for (int rot = 0; rot < 4; ++rot) {
        auto patch = base;
        data::flip_rotate(patch, flip_rows, flip_cols, rot);
        auto ex = x, ey = y;
        if (flip_rows) {
          ex = ex.flip({1});
          ey = ey.flip({0});
        }
        if (flip_cols) {
          ex = ex.flip({2});
          ey = ey.flip({1});
        }
        ex = torch::rot90(ex, rot, {1, 2});
        ey = torch::rot90(ey, rot, {0, 1});
        EXPECT_TRUE(torch::equal(input_tensor(patch), ex)) << flip_rows << flip_cols << rot;
        EXPECT_TRUE(torch::equal(label_tensor(patch), ey)) << flip_rows << flip_cols << rot;
      }
}

TEST(Augment, ResizeMatchesTorchInterpolate) {
  const auto scene = prepared(9, 9);
  const auto base = data::extract_patch(scene, 0, 0, 9);
  for (int64_t size : {4, 13, 16}) {
    const auto resized = data::resize_patch(base, size);
    const auto expected = torch::nn::functional::interpolate(
        input_tensor(base).unsqueeze(0), torch::nn::functional::InterpolateFuncOptions()
                                             .size(std::vector<int64_t>{size, size})
                                             .mode(torch::kBilinear)
                                             .align_corners(false));
    EXPECT_TRUE(torch::allclose(input_tensor(resized), expected.squeeze(0), 1e-4, 1e-3)) << size;
    const auto nearest = torch::nn::functional::interpolate(
        label_tensor(base).to(torch::kFloat32).unsqueeze(0).unsqueeze(0),
        torch::nn::functional::InterpolateFuncOptions()
            .size(std::vector<int64_t>{size, size})
            .mode(torch::kNearest));
    EXPECT_TRUE(torch::equal(label_tensor(resized), nearest.squeeze().to(torch::kUInt8))) << size;
  }
}

TEST(Augment, DrawsRespectOptionsAndZoomKeepsThePatchSize) {
  data::Rng rng(5);
  data::AugmentOptions off;
  for (int i = 0; i < 20; ++i) {
    const auto d = data::draw_augment(off, rng);
    EXPECT_FALSE(d.flip_rows || d.flip_cols || d.rot90 != 0 || d.zoom != 1.0);
  }
  data::AugmentOptions on{true, true, 0.2};
  bool any_flip = false, any_rot = false;
  for (int i = 0; i < 50; ++i) {
    const auto d = data::draw_augment(on, rng);
    any_flip |= d.flip_rows || d.flip_cols;
    any_rot |= d.rot90 != 0;
    EXPECT_GE(d.zoom, 0.8);
    EXPECT_LE(d.zoom, 1.2);
  }
  EXPECT_TRUE(any_flip);
  EXPECT_TRUE(any_rot);
  const auto scene = prepared(20, 20);
  data::AugmentDraw zoom;
  zoom.zoom = 1.25;
  const auto patch = data::make_sample(scene, 4, 4, 8, zoom);
  EXPECT_EQ(patch.size, 8);
  EXPECT_EQ(patch.input.size(), 2u * 64u);
  // Magnified: the 6x6 window around the patch centre (5..10) spans 6 columns over 8 pixels.
  EXPECT_GT(patch.input[0], 500.f - 1e-3f);
}
