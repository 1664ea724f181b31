#include <gtest/gtest.h>

#include <algorithm>

#include "sarseg/data/loader.h"
#include "test_scenes.h"

using namespace sarseg;

namespace {

std::vector<data::PreparedScene> scenes() {
  std::vector<data::PreparedScene> out;
  data::Normalization norm{{"a", "b"}, {0.0, 0.0}, {1.0, 1.0}, "t", {}};
  for (int i = 0; i < 3; ++i)
    out.push_back(data::prepare_scene(sarseg::testing::make_ramp_scene(30 + i, 30, 5), norm,
                                      {{"L", 5, false, 1.0}}, -1));
  return out;
}

std::vector<data::Batch> all_batches(const std::vector<data::PreparedScene>& s,
                                     const std::vector<data::PatchLocation>& patches, int threads,
                                     int64_t epoch, double cutmix = 0.0) {
  data::LoaderOptions options;
  options.batch_size = 4;
  options.patch_size = 8;
  options.threads = threads;
  options.prefetch_batches = 2;
  options.augment = {true, true, 0.1};
  options.cutmix = {cutmix, 1.0};
  options.seed = 99;
  data::BatchLoader loader(s, patches, options, epoch);
  std::vector<data::Batch> out;
  while (auto batch = loader.next())
    out.push_back(std::move(*batch));
  return out;
}

}  // namespace

TEST(Loader, BatchesDependOnSeedEpochAndIndexNotThreads) {
  const auto s = scenes();
  data::SamplerOptions sampler;
  sampler.patch_size = 8;
  sampler.per_scene = 6;
  sampler.min_valid_fraction = 0.5;
  const auto patches = data::draw_patches(s, sampler, 1, "x").patches;
  ASSERT_EQ(patches.size(), 18u);
  const auto inline_batches = all_batches(s, patches, 0, 3);
  const auto threaded = all_batches(s, patches, 3, 3);
  ASSERT_EQ(inline_batches.size(), 5u);  // 18 samples / 4, last batch of 2
  ASSERT_EQ(threaded.size(), 5u);
  EXPECT_EQ(inline_batches.back().input.size(0), 2);
  for (size_t i = 0; i < threaded.size(); ++i) {
    EXPECT_EQ(threaded[i].index, static_cast<int64_t>(i));
    EXPECT_TRUE(torch::equal(inline_batches[i].input, threaded[i].input));
    EXPECT_TRUE(torch::equal(inline_batches[i].targets[0], threaded[i].targets[0]));
  }
  const auto other_epoch = all_batches(s, patches, 2, 4);
  EXPECT_FALSE(torch::equal(inline_batches[0].input, other_epoch[0].input));
}

TEST(Loader, EpochOrderIsAPermutation) {
  const auto order = data::BatchLoader::epoch_order(100, 5, 2, true);
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i)
    EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
  EXPECT_NE(order, data::BatchLoader::epoch_order(100, 5, 3, true));
  EXPECT_EQ(order, data::BatchLoader::epoch_order(100, 5, 2, true));
  const auto plain = data::BatchLoader::epoch_order(5, 5, 2, false);
  EXPECT_EQ(plain, (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(Loader, TargetsKeepTheIgnoreValue) {
  auto s = scenes();
  std::fill(s[0].targets[0].begin(), s[0].targets[0].begin() + 30 * 10, 255);
  std::vector<data::PatchLocation> patches = {{0, 0, 0}};
  data::LoaderOptions options;
  options.batch_size = 1;
  options.patch_size = 8;
  data::BatchLoader loader(s, patches, options, 1);
  const auto batch = loader.next();
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->targets[0].dtype(), torch::kInt64);
  EXPECT_EQ(batch->targets[0][0][0][0].item<int64_t>(), 255);
  EXPECT_FALSE(loader.next());
}

// Data-parallel shares: disjoint, covering every position once, even, and the plain batches for
// one shard.
TEST(Loader, ShardRangesSplitEveryBatchIntoDisjointEvenShares) {
  const auto plain = data::BatchLoader::shard_ranges(10, 4, 0, 1, false);
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_EQ(plain[2].begin, 8);
  EXPECT_EQ(plain[2].end, 10);
  for (int shards : {2, 3, 4}) {
    for (int64_t count : {7, 12, 13}) {
      std::vector<int> seen(static_cast<size_t>(count), 0);
      size_t batches = 0;
      for (int shard = 0; shard < shards; ++shard) {
        const auto ranges = data::BatchLoader::shard_ranges(count, 2, shard, shards, false);
        batches = std::max(batches, ranges.size());
        for (const auto& r : ranges) {
          EXPECT_LE(r.end - r.begin, 2);
          EXPECT_GE(r.end - r.begin, r.global_size / shards);
          for (int64_t p = r.begin; p < r.end; ++p)
            ++seen[static_cast<size_t>(p)];
        }
      }
      for (int64_t p = 0; p < count; ++p)
        EXPECT_EQ(seen[static_cast<size_t>(p)], 1) << "position " << p << ", shards " << shards;
    }
  }
  // Batch b of 2 shards x 2 holds positions 4b..4b+3: shard 1 takes 4b+2, 4b+3.
  const auto second = data::BatchLoader::shard_ranges(8, 2, 1, 2, false);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[1].begin, 6);
  EXPECT_EQ(second[1].end, 8);
  EXPECT_EQ(second[1].global_size, 4);
  // A last batch of 1 sample cannot give 2 shards one each: dropped for training.
  EXPECT_EQ(data::BatchLoader::shard_ranges(9, 2, 0, 2, true).size(), 2u);
  EXPECT_EQ(data::BatchLoader::shard_ranges(9, 2, 1, 2, true).size(), 2u);
  EXPECT_EQ(data::BatchLoader::shard_ranges(9, 2, 1, 2, false).size(), 3u);
}

// A shard's batch holds exactly the samples (and augmentations, CutMix boxes included) of its
// positions in the one-shard batch: two shards of batch 2 together give the batches of one loader
// with batch 4.
TEST(Loader, ShardsTogetherGiveTheOneProcessBatches) {
  for (const double cutmix : {0.0, 1.0}) {
    SCOPED_TRACE(cutmix);
    const auto s = scenes();
    data::SamplerOptions sampler;
    sampler.patch_size = 8;
    sampler.per_scene = 4;
    sampler.min_valid_fraction = 0.0;
    const auto patches = data::draw_patches(s, sampler, 3, "train").patches;
    const auto whole = all_batches(s, patches, 0, 2, cutmix);
    std::vector<std::vector<data::Batch>> shards(2);
    for (int shard = 0; shard < 2; ++shard) {
      data::LoaderOptions options;
      options.batch_size = 2;
      options.patch_size = 8;
      options.threads = 1;
      options.augment = {true, true, 0.1};
      options.cutmix = {cutmix, 1.0};
      options.seed = 99;
      options.shard = shard;
      options.shards = 2;
      data::BatchLoader loader(s, patches, options, 2);
      while (auto batch = loader.next())
        shards[static_cast<size_t>(shard)].push_back(std::move(*batch));
    }
    ASSERT_EQ(shards[0].size(), whole.size());
    ASSERT_EQ(shards[1].size(), whole.size());
    for (size_t b = 0; b < whole.size(); ++b) {
      const auto joined = torch::cat({shards[0][b].input, shards[1][b].input});
      EXPECT_TRUE(torch::equal(joined, whole[b].input)) << "batch " << b;
      EXPECT_EQ(shards[0][b].global_size, whole[b].input.size(0));
    }
  }
}

namespace {

// Scene `value`: both bands equal to `value`, label L = value, label M = value + 4.
data::PreparedScene constant_scene(int value) {
  auto scene = sarseg::testing::make_ramp_scene(24, 24, 3, "c" + std::to_string(value));
  for (auto& band : scene.bands)
    std::fill(band.pixels.data.begin(), band.pixels.data.end(), static_cast<float>(value));
  io::LabelRaster first(24, 24), second(24, 24);
  std::fill(first.data.begin(), first.data.end(), static_cast<uint8_t>(value));
  std::fill(second.data.begin(), second.data.end(), static_cast<uint8_t>(value + 4));
  scene.labels = {{"L", first}, {"M", second}};
  data::Normalization norm{{"a", "b"}, {0.0, 0.0}, {1.0, 1.0}, "t", {}};
  return data::prepare_scene(scene, norm, {{"L", 8, false, 1.0}, {"M", 8, false, 1.0}}, -1);
}

std::vector<data::Batch> cutmix_batches(const std::vector<data::PreparedScene>& s,
                                        const std::vector<data::PatchLocation>& patches,
                                        double probability, int threads) {
  data::LoaderOptions options;
  options.batch_size = 5;
  options.patch_size = 12;
  options.threads = threads;
  options.augment = {true, true, 0.0};
  options.cutmix = {probability, 1.0};
  options.seed = 7;
  data::BatchLoader loader(s, patches, options, 1);
  std::vector<data::Batch> out;
  while (auto batch = loader.next())
    out.push_back(std::move(*batch));
  return out;
}

}  // namespace

// CutMix moves input and every target together: on scenes of constant value 1 and 2, every pixel's
// labels name the scene its input came from, and boxed samples hold both scenes.
TEST(Loader, CutMixMovesTheInputAndEveryTargetTogether) {
  const std::vector<data::PreparedScene> s = {constant_scene(1), constant_scene(2)};
  std::vector<data::PatchLocation> patches;
  for (int i = 0; i < 20; ++i)
    patches.push_back({i % 2, (i * 3) % 12, (i * 5) % 12});
  const auto mixed = cutmix_batches(s, patches, 1.0, 0);
  int64_t samples_with_both = 0;
  for (const auto& batch : mixed) {
    const auto value = batch.input.select(1, 0).to(torch::kInt64);
    EXPECT_TRUE(torch::equal(batch.input.select(1, 0), batch.input.select(1, 1)));
    EXPECT_TRUE(torch::equal(batch.targets[0], value));
    EXPECT_TRUE(torch::equal(batch.targets[1], value + 4));
    for (int64_t k = 0; k < batch.input.size(0); ++k)
      samples_with_both += value[k].min().item<int64_t>() != value[k].max().item<int64_t>();
  }
  // Half of the partners come from the other scene; boxes are rarely empty.
  EXPECT_GE(samples_with_both, 5);
  const auto threaded = cutmix_batches(s, patches, 1.0, 2);
  ASSERT_EQ(threaded.size(), mixed.size());
  for (size_t b = 0; b < mixed.size(); ++b)
    EXPECT_TRUE(torch::equal(threaded[b].input, mixed[b].input)) << "batch " << b;
  for (const auto& batch : cutmix_batches(s, patches, 0.0, 0))
    for (int64_t k = 0; k < batch.input.size(0); ++k)
      EXPECT_EQ(batch.input[k].min().item<float>(), batch.input[k].max().item<float>());
}

// Switching CutMix on changes a sample only inside one box: outside it, the flips and rotations
// are those of the run without CutMix. Each patch has a scene of its own with values no other
// scene has, so every pasted pixel differs from the one it replaces.
TEST(Loader, CutMixChangesASampleOnlyInsideOneBox) {
  std::vector<data::PreparedScene> s;
  std::vector<data::PatchLocation> patches;
  data::Normalization norm{{"a", "b"}, {0.0, 0.0}, {1.0, 1.0}, "t", {}};
  for (int i = 0; i < 12; ++i) {
    auto scene = sarseg::testing::make_ramp_scene(20, 20, 5);
    for (auto& value : scene.bands[0].pixels.data)
      value += static_cast<float>(10000 * i);
    s.push_back(data::prepare_scene(scene, norm, {{"L", 5, false, 1.0}}, -1));
    patches.push_back({i, i % 8, (2 * i) % 8});
  }
  const auto plain = cutmix_batches(s, patches, 0.0, 0);
  const auto mixed = cutmix_batches(s, patches, 1.0, 0);
  ASSERT_EQ(plain.size(), mixed.size());
  int64_t boxed = 0;
  for (size_t b = 0; b < plain.size(); ++b) {
    for (int64_t k = 0; k < plain[b].input.size(0); ++k) {
      const auto differs = plain[b].input[k][0].ne(mixed[b].input[k][0]);
      const int64_t changed = differs.sum().item<int64_t>();
      if (changed == 0) continue;
      ++boxed;
      const auto where = differs.nonzero();
      const auto rows = where.select(1, 0), cols = where.select(1, 1);
      const int64_t height = rows.max().item<int64_t>() - rows.min().item<int64_t>() + 1;
      const int64_t width = cols.max().item<int64_t>() - cols.min().item<int64_t>() + 1;
      EXPECT_EQ(changed, height * width) << "batch " << b << " sample " << k;
      EXPECT_LT(changed, 12 * 12);
    }
  }
  EXPECT_GE(boxed, 6);
}
