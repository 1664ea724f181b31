// Background batch loader: worker threads build batches ahead of the training loop.
//
//   BatchLoader loader(prepared_scenes, patches, options, epoch);
//   while (auto batch = loader.next()) { ... batch->input ... batch->targets[task] ... }
//
// Batch b of an epoch always holds the same samples with the same augmentation, whatever the
// thread count or timing: sample order and every random draw depend only on (seed, epoch, index).
// Workers do plain C++ copies (no torch ops), so they do not compete with torch's thread pool.
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "sarseg/data/augment.h"
#include "sarseg/data/sampler.h"

namespace sarseg::data {

struct Batch {
  int64_t index = 0;
  int64_t global_size = 0;             // samples of the whole batch over every shard
  torch::Tensor input;                 // [N, C, P, P] float32
  std::vector<torch::Tensor> targets;  // per task [N, P, P] int64, 255 = ignore
};

struct LoaderOptions {
  int64_t batch_size = 32;
  int64_t patch_size = 768;
  int threads = 1;           // worker threads; 0 = build batches in next() (no background)
  int prefetch_batches = 4;  // batches built ahead
  bool shuffle = true;
  AugmentOptions augment;
  CutMixOptions cutmix;  // the box's partner is another sample of the same epoch
  uint64_t seed = 1;
  // Data-parallel training: batch b of the epoch holds shards x batch_size samples, and this
  // loader gives shard `shard`'s part of it (see shard_ranges).
  int shard = 0;
  int shards = 1;
  bool drop_short_tail = false;  // drop a last batch too small to give every shard a sample
};

// Positions [begin, end) in the epoch order of one shard's part of one batch.
struct ShardRange {
  int64_t begin = 0, end = 0;
  int64_t global_size = 0;  // samples of the batch over every shard
};

class BatchLoader {
 public:
  BatchLoader(const std::vector<PreparedScene>& scenes, std::vector<PatchLocation> patches,
              const LoaderOptions& options, int64_t epoch);
  // Scenes by pointer (in memory or from a scene store); the caller keeps them alive.
  BatchLoader(std::vector<const SceneWindows*> scenes, std::vector<PatchLocation> patches,
              const LoaderOptions& options, int64_t epoch);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  int64_t num_batches() const { return num_batches_; }
  int64_t num_samples() const { return static_cast<int64_t>(patches_.size()); }
  // The next batch in order, or nullopt after the last.
  std::optional<Batch> next();
  // Seconds next() spent waiting for workers so far.
  double wait_seconds() const { return wait_seconds_; }

  // The sample order of an epoch (exposed for tests).
  static std::vector<int64_t> epoch_order(int64_t count, uint64_t seed, int64_t epoch,
                                          bool shuffle);
  // Shard `shard` of `shards` takes positions [g + n*shard/shards, g + n*(shard+1)/shards) of each
  // batch of shards x batch_size positions starting at g, n its size: disjoint, covering the
  // epoch, even shares except in a short last batch; one shard gives the plain batches. Empty
  // shares are left out; `drop_short_tail` drops a last batch with fewer samples than shards.
  static std::vector<ShardRange> shard_ranges(int64_t count, int64_t batch_size, int shard,
                                              int shards, bool drop_short_tail);

 private:
  Batch build(int64_t batch_index) const;
  // The augmented sample at position `position` of the epoch order, CutMix included.
  Patch sample_at(int64_t position) const;
  Patch plain_sample_at(int64_t position) const;  // without CutMix
  void worker();

  std::vector<const SceneWindows*> scenes_;
  std::vector<PatchLocation> patches_;
  LoaderOptions options_;
  int64_t epoch_;
  std::vector<int64_t> order_;
  std::vector<ShardRange> ranges_;
  int64_t num_batches_ = 0;

  std::mutex mutex_;
  std::condition_variable ready_;  // a batch was finished
  std::condition_variable space_;  // the consumer took a batch
  std::map<int64_t, Batch> done_;
  int64_t next_to_claim_ = 0;
  int64_t next_to_return_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
  double wait_seconds_ = 0.0;
};

}  // namespace sarseg::data
