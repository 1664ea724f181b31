#include <gtest/gtest.h>
#include <torch/torch.h>

#include <utility>
#include <vector>

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

// The box of the source replaces the same box of the target in every channel and task; nothing
// else changes.
TEST(Augment, PasteBoxCopiesTheBoxInTheInputAndEveryTarget) {
  data::Patch target, source;
  for (data::Patch* p : {&target, &source}) {
    p->size = 4;
    p->channels = 2;
  }
  target.input.assign(32, 0.f);
  source.input.resize(32);
  for (size_t i = 0; i < 32; ++i)
    source.input[i] = static_cast<float>(i + 1);
  target.labels = {std::vector<uint8_t>(16, 0), std::vector<uint8_t>(16, 9)};
  source.labels = {std::vector<uint8_t>(16, 1), std::vector<uint8_t>(16, 2)};
  data::CutMixDraw box;
  box.apply = true;
  box.row = 1;
  box.col = 2;
  box.height = 2;
  box.width = 2;
  data::paste_box(target, source, box);
  const std::vector<float> channel0 = {0, 0, 0, 0, 0, 0, 7, 8, 0, 0, 11, 12, 0, 0, 0, 0};
  const std::vector<float> channel1 = {0, 0, 0, 0, 0, 0, 23, 24, 0, 0, 27, 28, 0, 0, 0, 0};
  EXPECT_EQ(std::vector<float>(target.input.begin(), target.input.begin() + 16), channel0);
  EXPECT_EQ(std::vector<float>(target.input.begin() + 16, target.input.end()), channel1);
  const std::vector<uint8_t> first = {0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0};
  const std::vector<uint8_t> second = {9, 9, 9, 9, 9, 9, 2, 2, 9, 9, 2, 2, 9, 9, 9, 9};
  EXPECT_EQ(target.labels[0], first);
  EXPECT_EQ(target.labels[1], second);
}

// Moments of the Beta sampler CutMix draws lambda from: Beta(0.5, 0.5) has mean 1/2 and variance
// 1/8, Beta(2, 5) mean 2/7 and variance 10/392.
TEST(Augment, BetaDrawsHaveTheRightMoments) {
  data::Rng rng(17);
  for (const auto& [a, b] : std::vector<std::pair<double, double>>{{0.5, 0.5}, {2.0, 5.0}}) {
    const int n = 40000;
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < n; ++i) {
      const double x = rng.beta(a, b);
      ASSERT_GE(x, 0.0);
      ASSERT_LE(x, 1.0);
      sum += x;
      sum_sq += x * x;
    }
    const double mean = sum / n, variance = sum_sq / n - mean * mean;
    const double expected_mean = a / (a + b);
    const double expected_variance = a * b / ((a + b) * (a + b) * (a + b + 1));
    EXPECT_NEAR(mean, expected_mean, 0.006) << "Beta(" << a << ", " << b << ")";
    EXPECT_NEAR(variance, expected_variance, 0.004) << "Beta(" << a << ", " << b << ")";
  }
}

// Off draws nothing; the share of boxed samples follows the probability; the partner is another
// position. With beta = 1 the box area u = 1 - lambda is uniform, its side sqrt(u), and a box lies
// wholly inside with probability (1 - sqrt(u))^2, so unclipped boxes cover on average
// E[u (1 - sqrt u)^2] / E[(1 - sqrt u)^2] = (1/30) / (1/6) = 0.2 of the patch.
TEST(Augment, CutMixDrawsFollowTheProbability) {
  data::Rng rng(3);
  data::CutMixOptions off;
  for (int i = 0; i < 50; ++i)
    EXPECT_FALSE(data::draw_cutmix(off, 64, 0, 10, rng).apply);
  data::CutMixOptions on{0.3, 1.0};
  EXPECT_FALSE(data::draw_cutmix({1.0, 1.0}, 64, 0, 1, rng).apply);  // no other sample
  int applied = 0;
  const int n = 20000;
  double area = 0;
  int unclipped = 0;
  for (int i = 0; i < n; ++i) {
    const auto d = data::draw_cutmix(on, 1000, 4, 9, rng);
    if (!d.apply) continue;
    ++applied;
    EXPECT_NE(d.partner, 4);
    EXPECT_GE(d.partner, 0);
    EXPECT_LT(d.partner, 9);
    EXPECT_GE(d.row, 0);
    EXPECT_GE(d.col, 0);
    EXPECT_LE(d.row + d.height, 1000);
    EXPECT_LE(d.col + d.width, 1000);
    if (d.row > 0 && d.col > 0 && d.row + d.height < 1000 && d.col + d.width < 1000) {
      ++unclipped;
      area += static_cast<double>(d.height * d.width) / 1e6;
    }
  }
  EXPECT_NEAR(static_cast<double>(applied) / n, 0.3, 0.015);
  ASSERT_GT(unclipped, 500);
  EXPECT_NEAR(area / unclipped, 0.2, 0.015);
}
