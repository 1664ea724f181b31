#include "sarseg/data/loader.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "sarseg/data/random.h"

namespace sarseg::data {

std::vector<int64_t> BatchLoader::epoch_order(int64_t count, uint64_t seed, int64_t epoch,
                                              bool shuffle) {
  std::vector<int64_t> order(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    order[static_cast<size_t>(i)] = i;
  if (!shuffle) return order;
  Rng rng(Rng::mix(seed, {0x0bde7ULL, static_cast<uint64_t>(epoch)}));
  for (int64_t i = count - 1; i > 0; --i)  // Fisher-Yates
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(rng.uniform_int(0, i))]);
  return order;
}

std::vector<ShardRange> BatchLoader::shard_ranges(int64_t count, int64_t batch_size, int shard,
                                                  int shards, bool drop_short_tail) {
  std::vector<ShardRange> ranges;
  if (batch_size <= 0 || shards <= 0) return ranges;
  const int64_t global = batch_size * shards;
  for (int64_t start = 0; start < count; start += global) {
    const int64_t n = std::min(global, count - start);
    if (drop_short_tail && n < shards) break;
    ShardRange range;
    range.begin = start + n * shard / shards;
    range.end = start + n * (shard + 1) / shards;
    range.global_size = n;
    if (range.end > range.begin) ranges.push_back(range);
  }
  return ranges;
}

BatchLoader::BatchLoader(const std::vector<PreparedScene>& scenes,
                         std::vector<PatchLocation> patches, const LoaderOptions& options,
                         int64_t epoch)
    : BatchLoader(scene_pointers(scenes), std::move(patches), options, epoch) {}

BatchLoader::BatchLoader(std::vector<const SceneWindows*> scenes,
                         std::vector<PatchLocation> patches, const LoaderOptions& options,
                         int64_t epoch)
    : scenes_(std::move(scenes)), patches_(std::move(patches)), options_(options), epoch_(epoch) {
  order_ =
      epoch_order(static_cast<int64_t>(patches_.size()), options_.seed, epoch_, options_.shuffle);
  ranges_ = shard_ranges(static_cast<int64_t>(patches_.size()), options_.batch_size, options_.shard,
                         options_.shards, options_.drop_short_tail);
  num_batches_ = static_cast<int64_t>(ranges_.size());
  for (int t = 0; t < options_.threads; ++t)
    workers_.emplace_back([this] { worker(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  space_.notify_all();
  ready_.notify_all();
  for (auto& worker : workers_)
    worker.join();
}

Batch BatchLoader::build(int64_t batch_index) const {
  const ShardRange& range = ranges_[static_cast<size_t>(batch_index)];
  const int64_t begin = range.begin;
  const int64_t n = range.end - range.begin;
  const int64_t p = options_.patch_size;
  const SceneWindows::Shape first =
      scenes_.empty() ? SceneWindows::Shape{} : scenes_.front()->shape();
  const int64_t channels = first.channels;
  const size_t tasks = static_cast<size_t>(first.tasks);
  Batch batch;
  batch.index = batch_index;
  batch.global_size = range.global_size;
  // Only allocation here: filling is plain C++ so no torch thread pool is involved.
  batch.input = torch::empty({n, channels, p, p}, torch::kFloat32);
  for (size_t t = 0; t < tasks; ++t)
    batch.targets.push_back(torch::empty({n, p, p}, torch::kInt64));
  float* input = batch.input.data_ptr<float>();
  for (int64_t k = 0; k < n; ++k) {
    const Patch patch = sample_at(begin + k);
    std::memcpy(input + static_cast<size_t>(k * channels * p * p), patch.input.data(),
                patch.input.size() * sizeof(float));
    for (size_t t = 0; t < tasks; ++t) {
      int64_t* target = batch.targets[t].data_ptr<int64_t>() + static_cast<size_t>(k * p * p);
      const auto& label = patch.labels[t];
      for (size_t i = 0; i < label.size(); ++i)
        target[i] = label[i];
    }
  }
  return batch;
}

Patch BatchLoader::plain_sample_at(int64_t position) const {
  const int64_t sample = order_[static_cast<size_t>(position)];
  const PatchLocation& location = patches_[static_cast<size_t>(sample)];
  const SceneWindows& scene = *scenes_[static_cast<size_t>(location.scene)];
  // The draw depends on (seed, epoch, position in the epoch) only.
  Rng rng(Rng::mix(options_.seed,
                   {0xa11ce5ULL, static_cast<uint64_t>(epoch_), static_cast<uint64_t>(position)}));
  const AugmentDraw draw = draw_augment(options_.augment, rng);
  return make_sample(scene, location.row, location.col, options_.patch_size, draw);
}

Patch BatchLoader::sample_at(int64_t position) const {
  Patch patch = plain_sample_at(position);
  if (!options_.cutmix.enabled()) return patch;
  Rng rng(Rng::mix(options_.seed,
                   {0xc07313ULL, static_cast<uint64_t>(epoch_), static_cast<uint64_t>(position)}));
  const CutMixDraw box = draw_cutmix(options_.cutmix, options_.patch_size, position,
                                     static_cast<int64_t>(order_.size()), rng);
  if (box.apply) paste_box(patch, plain_sample_at(box.partner), box);
  return patch;
}

void BatchLoader::worker() {
  for (;;) {
    int64_t index;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_.wait(lock, [&] {
        return stopping_ || next_to_claim_ >= num_batches_ ||
               next_to_claim_ < next_to_return_ + std::max(1, options_.prefetch_batches);
      });
      if (stopping_ || next_to_claim_ >= num_batches_) return;
      index = next_to_claim_++;
    }
    Batch batch;
    try {
      batch = build(index);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      ready_.notify_all();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.emplace(index, std::move(batch));
    }
    ready_.notify_all();
  }
}

std::optional<Batch> BatchLoader::next() {
  if (next_to_return_ >= num_batches_) return std::nullopt;
  if (workers_.empty()) return build(next_to_return_++);
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait(lock, [&] { return error_ || done_.count(next_to_return_) > 0; });
  if (error_ && !done_.count(next_to_return_)) std::rethrow_exception(error_);
  Batch batch = std::move(done_.at(next_to_return_));
  done_.erase(next_to_return_);
  ++next_to_return_;
  lock.unlock();
  space_.notify_all();
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return batch;
}

}  // namespace sarseg::data
