#include "sarseg/train/trainer.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <utility>

#include "process_group.h"
#include "sarseg/checkpoint/checkpoint.h"
#include "sarseg/data/dataset.h"
#include "sarseg/data/loader.h"
#include "sarseg/data/random.h"
#include "sarseg/data/sampler.h"
#include "sarseg/data/scene_store.h"
#include "sarseg/eval/metrics.h"
#include "sarseg/eval/uncertainty.h"
#include "sarseg/models/layers.h"
#include "sarseg/models/model.h"
#include "sarseg/train/early_stopping.h"
#include "sarseg/train/losses.h"
#include "sarseg/train/optimizers.h"
#include "sarseg/train/scheduler.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/log.h"
#include "sarseg/util/process.h"
#include "sarseg/util/strings.h"
#include "sarseg/util/torch_compat.h"
#include "sarseg/util/torch_runtime.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace sarseg::train {
namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// JSON cannot hold NaN/inf: they become null and come back as NaN.
nlohmann::json number(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}
double number_from(const nlohmann::json& j) {
  return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>();
}

nlohmann::json record_to_json(const EpochRecord& r) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : r.val_metrics)
    metrics[name] = number(value);
  return {{"epoch", r.epoch},
          {"train_loss", number(r.train_loss)},
          {"val_loss", number(r.val_loss)},
          {"val_metrics", metrics},
          {"monitored", number(r.monitored)},
          {"lr", r.lr},
          {"seconds", r.seconds},
          {"samples_per_second", r.samples_per_second},
          {"data_wait_share", r.data_wait_share},
          {"train_samples", r.train_samples},
          {"encoder_frozen", r.encoder_frozen},
          {"best", r.best}};
}

EpochRecord record_from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch").get<int64_t>();
  r.train_loss = number_from(j.at("train_loss"));
  r.val_loss = number_from(j.at("val_loss"));
  for (const auto& [name, value] : j.at("val_metrics").items())
    r.val_metrics[name] = number_from(value);
  r.monitored = number_from(j.at("monitored"));
  r.lr = j.at("lr").get<double>();
  r.seconds = j.at("seconds").get<double>();
  r.samples_per_second = j.at("samples_per_second").get<double>();
  r.data_wait_share = j.at("data_wait_share").get<double>();
  r.train_samples = j.at("train_samples").get<int64_t>();
  r.encoder_frozen = j.at("encoder_frozen").get<bool>();
  r.best = j.at("best").get<bool>();
  return r;
}

std::string csv_number(double value) {
  if (!std::isfinite(value)) return "nan";
  return config::format_value(value);
}

std::string metrics_csv(const std::vector<EpochRecord>& history) {
  std::vector<std::string> metric_names;
  if (!history.empty())
    for (const auto& [name, value] : history.front().val_metrics)
      metric_names.push_back(name);
  std::string text = "epoch,train_loss,val_loss";
  for (const auto& name : metric_names)
    text += "," + name;
  text += ",lr,seconds,samples_per_s,data_wait_share,encoder_frozen,best\n";
  for (const auto& r : history) {
    text += std::to_string(r.epoch) + "," + csv_number(r.train_loss) + "," + csv_number(r.val_loss);
    for (const auto& name : metric_names) {
      const auto it = r.val_metrics.find(name);
      text += "," + csv_number(it == r.val_metrics.end() ? NAN : it->second);
    }
    text += "," + csv_number(r.lr) + "," + csv_number(r.seconds) + "," +
            csv_number(r.samples_per_second) + "," + csv_number(r.data_wait_share) + "," +
            (r.encoder_frozen ? "1" : "0") + "," + (r.best ? "1" : "0") + "\n";
  }
  return text;
}

// events.jsonl: one JSON object per line, appended and flushed (by rank 0 only: `enabled`).
class EventLog {
 public:
  EventLog(fs::path path, bool enabled) : path_(std::move(path)), enabled_(enabled) {}
  void write(const std::string& event, nlohmann::json fields = nlohmann::json::object()) {
    if (!enabled_) return;
    fields["event"] = event;
    fields["time"] = static_cast<int64_t>(std::time(nullptr));
    std::ofstream out(path_, std::ios::app);
    out << fields.dump() << "\n";
    out.flush();
  }

 private:
  fs::path path_;
  bool enabled_;
};

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups())
    group.options().set_lr(lr);
}
double get_lr(const torch::optim::Optimizer& optimizer) {
  return optimizer.param_groups().front().options().get_lr();
}

std::vector<const io::Scene*> pointers(const std::vector<io::Scene>& scenes) {
  std::vector<const io::Scene*> out;
  for (const auto& s : scenes)
    out.push_back(&s);
  return out;
}

// Everything derived from the config and the scenes that a run (or a benchmark) needs.
struct Setup {
  TrainConfig config;
  std::vector<data::TaskSpec> tasks;
  data::Normalization normalization;
  // Prepared in memory or read from a scene store; the owners keep them alive.
  std::vector<std::shared_ptr<const data::SceneWindows>> scene_owners;
  std::vector<const data::SceneWindows*> train, val;
  std::vector<data::PatchLocation> train_patches;  // drawn once (unused when resampling)
  std::vector<data::PatchLocation> val_patches;
  models::ModelSpec spec;
  models::SegmentationModel model{nullptr};
  torch::Device device{torch::kCPU};
  TrainArithmetic arithmetic;                // bf16 / channels-last, train.precision resolved
  std::vector<torch::Tensor> class_weights;  // per task, undefined = none
  // Data-parallel training: this process's rank; group is null for one process.
  ProcessGroupHandle* group = nullptr;
  int rank = 0, world_size = 1;
  std::unique_ptr<GradientAllReducer> reducer;  // made once the parameters are placed
  bool main_rank() const { return rank == 0; }
};

data::SamplerOptions sampler_options(const TrainConfig& c, bool validation) {
  data::SamplerOptions options;
  options.patch_size = c.data.patch_size;
  options.per_scene = validation ? c.data.val_patches_per_scene : c.data.patches_per_scene;
  options.per_epoch = validation ? 0 : c.data.patches_per_epoch;
  options.min_valid_fraction = c.data.min_valid_fraction;
  return options;
}

std::vector<data::PatchLocation> draw(const std::vector<const data::SceneWindows*>& scenes,
                                      const data::SamplerOptions& options, uint64_t seed,
                                      const std::string& split) {
  auto result = data::draw_window_patches(scenes, options, seed, split);
  for (const auto& warning : result.warnings)
    sarseg::log::warn("{}", warning);
  return std::move(result.patches);
}

uint64_t train_draw_seed(const TrainConfig& c, int64_t epoch) {
  // Drawn once: the same locations every epoch; else a new draw per epoch.
  return data::Rng::mix(
      c.train.seed, {0x7a1eULL, c.data.resample_every_epoch ? static_cast<uint64_t>(epoch) : 0ULL});
}

data::LoaderOptions loader_options(const Setup& s, bool validation) {
  const TrainConfig& c = s.config;
  data::LoaderOptions options;
  // Each rank takes its share of every batch; training drops a last batch too small to give
  // every rank a sample (a rank without one would have no gradient to send).
  options.shard = s.rank;
  options.shards = s.world_size;
  options.drop_short_tail = !validation && s.world_size > 1;
  options.batch_size = c.train.batch_size;
  options.patch_size = c.data.patch_size;
  options.threads = static_cast<int>(c.data.loader_threads);
  options.prefetch_batches = static_cast<int>(c.data.prefetch_batches);
  options.shuffle = !validation;
  if (!validation) {
    options.augment.flips = c.data.flips;
    options.augment.rot90 = c.data.rot90;
    options.augment.scale = c.data.scale;
    options.cutmix.probability = c.data.cutmix_probability;
    options.cutmix.beta = c.data.cutmix_beta;
  }
  options.seed = data::Rng::mix(c.train.seed, {validation ? 0x5a1ULL : 0x7a2ULL});
  return options;
}

Setup make_setup(const TrainConfig& config, const SceneSplits& scenes,
                 const data::Normalization* saved_normalization,
                 const DistributedContext* distributed) {
  Setup s;
  s.config = config;
  s.tasks = tasks_of(config);
  std::string device = resolve_device_name(config.train.device);
  if (distributed && distributed->active()) {
    s.group = distributed->group();
    s.rank = distributed->rank();
    s.world_size = distributed->world_size();
    // One GPU per process on a node: "cuda" means this rank's.
    if (device == "cuda") device = "cuda:" + std::to_string(distributed->local_rank());
  }
  s.device = torch::Device(device);
  s.arithmetic = resolve_train_arithmetic(config.train);
  const bool stored = scenes.stored();
  require(!scenes.train.empty() || stored,
          "no training scenes: set data.train (or data.source=synthetic)");
  require(!scenes.val.empty() || !scenes.stored_val.empty(), "no validation scenes: set data.val");
  const int ignore = static_cast<int>(config.data.ignore_label);
  data::check_scene_splits(scenes, config.data.bands, s.tasks, ignore);
  // The speckle filter belongs to the input: filtered once per scene here (copies), statistics of
  // the filtered bands, and recorded with the normalisation for inference (SceneNormalizer).
  const io::SpeckleFilterSpec speckle =
      saved_normalization ? saved_normalization->speckle : speckle_filter_of(config);
  // The store keeps unfiltered bands and its key does not know the filter.
  require(!(speckle.active() && stored),
          "data.speckle_filter=" + speckle.filter +
              " and data.store are both set; the scene store holds unfiltered bands: leave "
              "data.store empty to train with a speckle filter");
  // data.downsample: scenes in memory are downsampled here (copies), before the speckle filter,
  // as inference downsamples before its normaliser filters; a store holds them downsampled.
  const int64_t downsample =
      saved_normalization ? saved_normalization->downsample : config.data.downsample;
  const std::vector<io::Scene> downsampled_train = data::downsampled(scenes.train, downsample);
  const std::vector<io::Scene> downsampled_val = data::downsampled(scenes.val, downsample);
  const auto& sized_train = downsample > 1 ? downsampled_train : scenes.train;
  const auto& sized_val = downsample > 1 ? downsampled_val : scenes.val;
  const std::vector<io::Scene> filtered_train = data::speckle_filtered(sized_train, speckle);
  const std::vector<io::Scene> filtered_val = data::speckle_filtered(sized_val, speckle);
  const auto& train_scenes = speckle.active() ? filtered_train : sized_train;
  const auto& val_scenes = speckle.active() ? filtered_val : sized_val;
  const auto method =
      data::parse_normalization_method(config.data.normalization, "data.normalization");
  if (saved_normalization) {
    s.normalization = *saved_normalization;
  } else if (stored) {
    s.normalization = data::make_normalization(
        method, data::stored_band_sums(scenes.stored_train, config.data.bands), config.data.bands,
        data::stored_band_units(*scenes.stored_train.front(), config.data.bands));
  } else {
    s.normalization = data::make_normalization(method, pointers(train_scenes), config.data.bands);
    s.normalization.speckle = speckle;
  }
  s.normalization.downsample = downsample;
  data::Normalization already_filtered = s.normalization;
  already_filtered.speckle = {};
  auto keep = [&s](std::shared_ptr<const data::SceneWindows> scene,
                   std::vector<const data::SceneWindows*>& split) {
    split.push_back(scene.get());
    s.scene_owners.push_back(std::move(scene));
  };
  for (const auto& scene : train_scenes)
    keep(std::make_shared<data::PreparedScene>(
             data::prepare_scene(scene, already_filtered, s.tasks, ignore)),
         s.train);
  for (const auto& scene : val_scenes)
    keep(std::make_shared<data::PreparedScene>(
             data::prepare_scene(scene, already_filtered, s.tasks, ignore)),
         s.val);
  for (const auto& scene : scenes.stored_train)
    keep(std::make_shared<data::StoredSceneWindows>(scene, s.normalization, s.tasks), s.train);
  for (const auto& scene : scenes.stored_val)
    keep(std::make_shared<data::StoredSceneWindows>(scene, s.normalization, s.tasks), s.val);

  s.spec = model_spec_of(config);
  torch::manual_seed(config.train.seed);
  s.model = models::build_model(s.spec);
  s.model->check_input_size(config.data.patch_size, config.data.patch_size);

  if (!config.data.resample_every_epoch)
    s.train_patches =
        draw(s.train, sampler_options(config, false), train_draw_seed(config, 0), "data.train");
  s.val_patches = draw(s.val, sampler_options(config, true),
                       data::Rng::mix(config.train.seed, {0x7a1bULL}), "data.val");

  bool first_classification = true;
  for (const auto& task : s.tasks) {
    torch::Tensor weights;
    if (!task.regression && first_classification && !config.loss.class_weights.empty())
      weights = torch::tensor(config.loss.class_weights, torch::kFloat32).to(s.device);
    if (!task.regression) first_classification = false;
    s.class_weights.push_back(weights);
  }
  return s;
}

std::vector<torch::Tensor> to_device(const std::vector<torch::Tensor>& tensors,
                                     const torch::Device& device) {
  std::vector<torch::Tensor> out;
  for (const auto& t : tensors)
    out.push_back(t.to(device));
  return out;
}

// Puts the model on the training device, in channels-last layout when configured.
void place_model(Setup& s) {
  s.model->to(s.device);
  if (s.arithmetic.channels_last) models::convert_to_channels_last(*s.model);
}

// Training mode; under model.freeze_bn every BatchNorm layer stays in eval mode.
void set_training_mode(Setup& s) {
  s.model->train();
  if (!s.config.model.freeze_bn) return;
  for (auto& module : s.model->modules())
    if (module->as<torch::nn::BatchNorm2d>()) module->eval();
}

// Sums CPU tensors over the ranks in place (through the training device for NCCL).
void sum_over_ranks(Setup& s, std::vector<torch::Tensor>& tensors, const std::string& what) {
  if (!s.group) return;
  if (!s.device.is_cuda()) return s.group->all_reduce_sum(tensors, what);
  std::vector<torch::Tensor> on_device;
  for (const auto& t : tensors)
    on_device.push_back(t.to(s.device));
  s.group->all_reduce_sum(on_device, what);
  for (size_t i = 0; i < tensors.size(); ++i)
    tensors[i].copy_(on_device[i].to(torch::kCPU));
}

// Forward pass of one batch on the training device, under bf16 autocast and in channels-last
// layout when configured; the outputs come back in fp32 so that losses and metrics are fp32.
std::vector<torch::Tensor> forward_batch(Setup& s, const torch::Tensor& batch_input) {
  auto input = batch_input.to(s.device);
  if (s.arithmetic.channels_last) input = input.contiguous(torch::MemoryFormat::ChannelsLast);
  std::vector<torch::Tensor> outputs;
  {
    compat::AutocastGuard autocast(s.arithmetic.bf16, s.device.type());
    outputs = s.model->forward_heads(input);
  }
  for (auto& output : outputs)
    output = output.to(torch::kFloat);
  return outputs;
}

// What one step did: the batch's mean loss and, for the epoch's mean, its loss sum and sample
// count (over every rank in data-parallel training).
struct StepResult {
  double loss = 0;
  double loss_sum = 0;
  int64_t samples = 0;
};

// One optimisation step, the same in training and in benchmark_training: forward, loss,
// backward, gradient all-reduce (several processes), gradient clipping, optimiser step. A
// non-finite loss (on any rank) returns before the step, with the weights unchanged (the caller
// stops). `nan_loss`: fault injection.
StepResult train_step(Setup& s, torch::optim::Optimizer& optimizer,
                      const std::vector<torch::Tensor>& parameters, const data::Batch& batch,
                      bool nan_loss = false) {
  const auto targets = to_device(batch.targets, s.device);
  const auto outputs = forward_batch(s, batch.input);
  torch::Tensor loss = multitask_loss(outputs, targets, s.tasks, s.class_weights).total;
  if (nan_loss) loss = loss * std::numeric_limits<double>::quiet_NaN();
  const double loss_value = loss.item<double>();
  const int64_t n = batch.input.size(0);
  StepResult result{loss_value, loss_value * static_cast<double>(n), n};
  if (!s.reducer) {
    if (!std::isfinite(loss_value)) return result;
    // Gradients are dropped rather than zeroed: backward then writes each one instead of adding
    // it to a zero-filled tensor (30 fills and 68 additions fewer per step of the paper's model),
    // and the optimisers skip a parameter without a gradient as they skip one whose gradient is
    // zero. The all-reduce below needs every gradient defined, so it keeps zero_grad.
    for (auto& group : optimizer.param_groups())
      for (auto& parameter : group.params())
        parameter.mutable_grad().reset();
    loss.backward();
  } else {
    // Every rank takes part in the all-reduce, also one whose loss is not finite (it sends zero
    // gradients and a flag), so that all of them stop together.
    const bool finite = std::isfinite(loss_value);
    optimizer.zero_grad();
    if (finite) loss.backward();
    torch::Tensor sums =
        torch::tensor({finite ? result.loss_sum : 0.0, static_cast<double>(n), finite ? 0.0 : 1.0},
                      torch::kFloat64)
            .to(s.device);
    // Sum then divide by the world size; a rank with an uneven share of a short last batch
    // weighs its gradient by its share, so the result is the whole batch's mean gradient.
    const double scale = static_cast<double>(n) * static_cast<double>(s.world_size) /
                         static_cast<double>(batch.global_size);
    s.reducer->all_reduce(sums, scale);
    sums = sums.to(torch::kCPU);
    const auto* reduced = sums.data_ptr<double>();
    if (reduced[2] > 0) {
      result.loss = finite ? std::numeric_limits<double>::quiet_NaN() : loss_value;
      return result;
    }
    result.loss_sum = reduced[0];
    result.samples = static_cast<int64_t>(reduced[1]);
    result.loss = result.loss_sum / reduced[1];
  }
  if (s.config.optim.grad_clip_norm > 0)
    torch::nn::utils::clip_grad_norm_(parameters, s.config.optim.grad_clip_norm);
  optimizer.step();
  return result;
}

struct Validation {
  double loss = 0;
  std::map<std::string, double> metrics;
};

Validation validate_epoch(Setup& s) {
  s.model->eval();
  torch::NoGradGuard no_grad;
  std::vector<eval::ConfusionMatrix> confusion;
  for (const auto& task : s.tasks)
    confusion.emplace_back(static_cast<int>(task.classes));
  data::BatchLoader loader(s.val, s.val_patches, loader_options(s, true), 0);
  double loss_sum = 0;
  int64_t samples = 0;
  while (auto batch = loader.next()) {
    const auto targets = to_device(batch->targets, s.device);
    const auto outputs = forward_batch(s, batch->input);
    const auto terms = multitask_loss(outputs, targets, s.tasks, s.class_weights);
    const int64_t n = batch->input.size(0);
    loss_sum += terms.total.item<double>() * static_cast<double>(n);
    samples += n;
    for (size_t t = 0; t < s.tasks.size(); ++t) {
      torch::Tensor prediction;
      if (s.tasks[t].regression) {
        prediction =
            outputs[t].squeeze(1).clamp(0, static_cast<double>(s.tasks[t].classes - 1)).round();
      } else {
        prediction = outputs[t].argmax(1);
      }
      const auto pred = prediction.to(torch::kCPU).to(torch::kUInt8).contiguous();
      const auto truth = batch->targets[t].to(torch::kUInt8).contiguous();
      confusion[t].add(truth.data_ptr<uint8_t>(), pred.data_ptr<uint8_t>(), nullptr,
                       static_cast<size_t>(truth.numel()), "validation " + s.tasks[t].label);
    }
  }
  set_training_mode(s);
  if (s.group) {
    // Each rank validated its share: the loss sums, sample counts and confusion counts add up.
    std::vector<torch::Tensor> sums = {
        torch::tensor({loss_sum, static_cast<double>(samples)}, torch::kFloat64)};
    for (const auto& matrix : confusion)
      sums.push_back(torch::tensor(matrix.counts(), torch::kInt64));
    sum_over_ranks(s, sums, "reducing the validation results");
    loss_sum = sums[0].data_ptr<double>()[0];
    samples = static_cast<int64_t>(sums[0].data_ptr<double>()[1]);
    for (size_t t = 0; t < confusion.size(); ++t) {
      eval::ConfusionMatrix total(confusion[t].num_classes());
      const auto* counts = sums[t + 1].data_ptr<int64_t>();
      const int k = total.num_classes();
      for (int truth = 0; truth < k; ++truth)
        for (int predicted = 0; predicted < k; ++predicted)
          if (const int64_t count = counts[truth * k + predicted])
            total.add(truth, predicted, count);
      confusion[t] = std::move(total);
    }
  }
  Validation v;
  v.loss = samples > 0 ? loss_sum / static_cast<double>(samples) : NAN;
  std::map<std::string, double> by_label;
  for (size_t t = 0; t < s.tasks.size(); ++t) {
    const auto m = eval::compute_metrics(confusion[t]);
    const bool empty = m.pixels == 0;
    auto put = [&](const std::string& name, double value) {
      value = empty ? NAN : value;
      v.metrics["val_" + s.tasks[t].label + "_" + name] = value;
      if (t == 0) v.metrics["val_" + name] = value;
    };
    put("accuracy", m.accuracy);
    put("r2", m.r2);
    if (!s.tasks[t].regression) {
      put("macro_f1", m.macro_f1);
      put("weighted_f1", m.weighted_f1);
      put("macro_iou", m.macro_iou);
      put("weighted_iou", m.weighted_iou);
      by_label[s.tasks[t].label] = empty ? NAN : m.weighted_f1;
    }
    if (s.tasks[t].label == "SIC") by_label["SIC_r2"] = empty ? NAN : m.r2;
  }
  if (by_label.count("SIC_r2") && by_label.count("SOD") && by_label.count("FLOE")) {
    v.metrics["val_combined"] =
        eval::autoice_score(by_label["SIC_r2"], by_label["SOD"], by_label["FLOE"]).combined;
  }
  return v;
}

// Pixels the temperature of a head is fitted on: an even stride over the validation patches.
constexpr int64_t kTemperatureSamples = 200000;

// Temperature scaling (Guo et al., 2017): for each classification head, the temperature that
// minimises the NLL of softmax(logits / T) on labelled validation pixels (eval::fit_temperature);
// 1 for regression heads.
std::vector<double> fit_temperatures(Setup& s) {
  s.model->eval();
  torch::NoGradGuard no_grad;
  const int64_t patch = s.config.data.patch_size;
  const int64_t total = static_cast<int64_t>(s.val_patches.size()) * patch * patch;
  const int64_t stride = std::max<int64_t>(1, total / kTemperatureSamples);
  const int ignore = static_cast<int>(s.config.data.ignore_label);
  std::vector<std::vector<float>> logits(s.tasks.size());
  std::vector<std::vector<int>> labels(s.tasks.size());
  std::vector<int64_t> seen(s.tasks.size(), 0);
  // Rank 0 fits alone (it alone writes checkpoints), on every validation patch.
  auto options = loader_options(s, true);
  options.shard = 0;
  options.shards = 1;
  data::BatchLoader loader(s.val, s.val_patches, options, 0);
  while (auto batch = loader.next()) {
    const auto outputs = forward_batch(s, batch->input);
    for (size_t t = 0; t < s.tasks.size(); ++t) {
      if (s.tasks[t].regression) continue;
      const int64_t classes = s.tasks[t].classes;
      const auto values =
          outputs[t].to(torch::kCPU, torch::kFloat).permute({0, 2, 3, 1}).contiguous();
      const auto truth = batch->targets[t].contiguous();
      const float* v = values.data_ptr<float>();
      const int64_t* y = truth.data_ptr<int64_t>();
      for (int64_t i = 0; i < truth.numel(); ++i) {
        const int64_t label = y[i];
        if (label < 0 || label >= classes || label == ignore) continue;
        if (seen[t]++ % stride != 0) continue;
        logits[t].insert(logits[t].end(), v + i * classes, v + (i + 1) * classes);
        labels[t].push_back(static_cast<int>(label));
      }
    }
  }
  s.model->train();
  std::vector<double> temperatures(s.tasks.size(), 1.0);
  for (size_t t = 0; t < s.tasks.size(); ++t)
    if (!s.tasks[t].regression)
      temperatures[t] = eval::fit_temperature(logits[t], s.tasks[t].classes, labels[t]);
  return temperatures;
}

checkpoint::CheckpointMeta make_meta(const Setup& s, int64_t epoch, const nlohmann::json& state) {
  checkpoint::CheckpointMeta meta;
  meta.spec = s.spec;
  meta.normalization = s.normalization;
  meta.tasks = s.tasks;
  meta.scoring =
      checkpoint::scoring_of_tasks(s.tasks, static_cast<int>(s.config.data.ignore_label));
  meta.epoch = epoch;
  meta.config_yaml = train_config_schema().to_yaml(s.config);
  meta.state_json = state.dump();
  return meta;
}

void copy_atomically(const fs::path& from, const fs::path& to) {
  AtomicOutput output(to);
  std::error_code error;
  fs::copy_file(from, output.temp_path(), fs::copy_options::overwrite_existing, error);
  if (error) throw UserError("cannot write '" + to.string() + "': " + error.message());
  output.commit();
}

const std::vector<std::string>& run_files() {
  static const std::vector<std::string> files = {"config.yaml", "metrics.csv", "events.jsonl",
                                                 "checkpoints/best.pt", "checkpoints/last.pt"};
  return files;
}

// New run: refuses a directory holding another run unless output.overwrite.
void prepare_run_dir(const TrainConfig& config, const fs::path& run_dir) {
  // A directory whose run never finished an epoch (no checkpoint, no metrics) is reused.
  const bool has_run = fs::exists(run_dir / "checkpoints" / "last.pt") ||
                       fs::exists(run_dir / "checkpoints" / "best.pt") ||
                       fs::exists(run_dir / "metrics.csv");
  if (has_run) {
    require(config.output.overwrite,
            "output.dir " + run_dir.string() +
                " already holds a run; resume it with 'sarseg train --resume " + run_dir.string() +
                "', choose another output.dir, or set output.overwrite=true");
  }
  ensure_output_directory(run_dir);
  ensure_output_directory(run_dir / "checkpoints");
  for (const auto& name : run_files())
    fs::remove(run_dir / name);
}

// Everything the loop carries from epoch to epoch, and what a checkpoint's state restores.
struct LoopState {
  LoopState(const Setup& s, const fs::path& run_dir)
      : maximise(monitor_maximises(s.config.train.monitor)),
        stopping(maximise, s.config.train.patience, s.config.train.min_delta,
                 s.config.train.min_epochs, s.config.train.max_epochs),
        last_path(run_dir / "checkpoints" / "last.pt"),
        best_path(run_dir / "checkpoints" / "best.pt"),
        events(run_dir / "events.jsonl", s.main_rank()) {
    result.run_dir = run_dir;
    result.monitor = s.config.train.monitor;
  }

  bool maximise;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<LrSchedule> schedule;
  EarlyStopping stopping;
  TrainResult result;
  double best_value = NAN;
  int64_t start_epoch = 0;
  fs::path last_path, best_path;
  EventLog events;

  nlohmann::json saved_state() const {
    nlohmann::json state;
    state["schedule"] = schedule->state();
    state["early_stopping"] = stopping.state();
    state["best_value"] = number(best_value);
    state["best_epoch"] = result.best_epoch;
    state["history"] = nlohmann::json::array();
    for (const auto& r : result.history)
      state["history"].push_back(record_to_json(r));
    return state;
  }
};

// Restores weights, optimiser, RNG and loop state from checkpoints/last.pt. Returns true when the
// run had already finished.
bool restore_run(Setup& s, LoopState& loop) {
  const checkpoint::CheckpointMeta meta = checkpoint::read_checkpoint_meta(loop.last_path);
  checkpoint::load_checkpoint_state(loop.last_path, *s.model, loop.optimizer.get(), true, s.device);
  const auto state = nlohmann::json::parse(meta.state_json);
  // Runs saved before the schedule registry kept the plateau state under "plateau".
  loop.schedule->load_state(state.contains("schedule") ? state.at("schedule")
                                                       : state.at("plateau"));
  loop.stopping.load_state(state.at("early_stopping"));
  loop.best_value = number_from(state.at("best_value"));
  loop.result.best_epoch = state.at("best_epoch").get<int64_t>();
  for (const auto& r : state.at("history"))
    loop.result.history.push_back(record_from_json(r));
  loop.start_epoch = meta.epoch;
  loop.events.write("resume", {{"epoch", loop.start_epoch}, {"world_size", s.world_size}});
  if (s.main_rank())
    sarseg::log::info("resuming {} after epoch {}", loop.result.run_dir.string(), loop.start_epoch);
  if (loop.result.history.empty() || !loop.stopping.should_stop(loop.start_epoch)) return false;
  loop.result.epochs_completed = loop.start_epoch;
  loop.result.best_value = loop.best_value;
  loop.result.stop_reason = "already finished: " + loop.stopping.reason(loop.start_epoch);
  return true;
}

// A new run: the encoder's initial weights, and the start event.
void start_run(Setup& s, LoopState& loop) {
  const auto report = models::initialise_encoder(s.model, s.spec);
  place_model(s);
  loop.events.write("start", {{"model", models::model_label(s.spec)},
                              {"init", s.spec.init},
                              {"init_source", report.source},
                              {"train_scenes", s.train.size()},
                              {"val_scenes", s.val.size()},
                              {"normalization",
                               nlohmann::json::parse(data::normalization_to_json(s.normalization))},
                              {"torch_threads", torch_threads()},
                              {"world_size", s.world_size},
                              {"device", s.device.str()}});
}

[[noreturn]] void report_divergence(LoopState& loop, double loss, int64_t epoch, int64_t batch,
                                    int64_t batches) {
  const std::string kept = loop.start_epoch > 0 || epoch > 1
                               ? "the last good checkpoint " + loop.last_path.string() +
                                     " (epoch " + std::to_string(epoch - 1) + ") is intact"
                               : "no checkpoint was written yet";
  loop.events.write("diverged", {{"epoch", epoch}, {"batch", batch}, {"loss", nullptr}});
  throw TrainingDiverged(
      "training diverged: loss is " + std::string(std::isnan(loss) ? "NaN" : "infinite") +
      " at epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch) + " of " +
      std::to_string(batches) + "; " + kept + "; lower optim.lr, keep optim.grad_clip_norm on, " +
      "or check the input scenes");
}

BatchProgress batch_progress(int64_t epoch, int64_t max_epochs, int64_t batch, int64_t batches,
                             double loss_sum, int64_t samples, double elapsed) {
  BatchProgress progress;
  progress.epoch = epoch;
  progress.max_epochs = max_epochs;
  progress.batch = batch;
  progress.batches = batches;
  progress.mean_loss = loss_sum / static_cast<double>(samples);
  progress.samples = samples;
  progress.elapsed_seconds = elapsed;
  progress.samples_per_second = elapsed > 0 ? static_cast<double>(samples) / elapsed : 0.0;
  progress.eta_seconds =
      elapsed / static_cast<double>(batch) * static_cast<double>(batches - batch);
  return progress;
}

// One epoch's training half: every batch through train_step, with the schedule's per-batch rate.
struct EpochTraining {
  double loss_sum = 0;
  int64_t samples = 0;
  double seconds = 0, wait_seconds = 0;
};

EpochTraining train_epoch(Setup& s, LoopState& loop, std::vector<torch::Tensor>& parameters,
                          int64_t epoch, const TrainCallbacks& callbacks) {
  const TrainConfig& c = s.config;
  const auto epoch_start = Clock::now();
  const auto patches = c.data.resample_every_epoch ? draw(s.train, sampler_options(c, false),
                                                          train_draw_seed(c, epoch), "data.train")
                                                   : s.train_patches;
  data::BatchLoader loader(s.train, patches, loader_options(s, false), epoch);
  const int64_t batches = loader.num_batches();
  EpochTraining out;
  int64_t batch_number = 0;
  while (auto batch = loader.next()) {
    ++batch_number;
    const FaultAction fault =
        callbacks.inject_fault ? callbacks.inject_fault(epoch, batch_number) : FaultAction::kNone;
    if (const auto lr = loop.schedule->lr_for_batch(static_cast<double>(epoch - 1) +
                                                    static_cast<double>(batch_number - 1) /
                                                        static_cast<double>(batches)))
      set_lr(*loop.optimizer, *lr);
    const StepResult step =
        train_step(s, *loop.optimizer, parameters, *batch, fault == FaultAction::kNanLoss);
    if (!std::isfinite(step.loss)) report_divergence(loop, step.loss, epoch, batch_number, batches);
    out.loss_sum += step.loss_sum;
    out.samples += step.samples;
    if (callbacks.on_progress)
      callbacks.on_progress(batch_progress(epoch, c.train.max_epochs, batch_number, batches,
                                           out.loss_sum, out.samples, seconds_since(epoch_start)));
  }
  out.seconds = seconds_since(epoch_start);
  out.wait_seconds = loader.wait_seconds();
  return out;
}

// The epoch's record after validation; steps the per-epoch schedule and early stopping and
// tracks the best monitored value.
EpochRecord close_epoch(Setup& s, LoopState& loop, int64_t epoch, bool frozen,
                        const EpochTraining& trained) {
  const TrainConfig& c = s.config;
  // Each rank's BatchNorm statistics followed its own batches: their mean is what every rank
  // validates and rank 0 saves.
  if (s.group) average_module_buffers(*s.model, *s.group);
  const Validation validation = validate_epoch(s);
  EpochRecord record;
  record.epoch = epoch;
  record.train_loss =
      trained.samples > 0 ? trained.loss_sum / static_cast<double>(trained.samples) : NAN;
  record.val_loss = validation.loss;
  record.val_metrics = validation.metrics;
  record.monitored =
      c.train.monitor == "val_loss" ? validation.loss : validation.metrics.at(c.train.monitor);
  record.train_samples = trained.samples;
  record.encoder_frozen = frozen;
  record.samples_per_second =
      trained.seconds > 0 ? static_cast<double>(trained.samples) / trained.seconds : 0;
  record.data_wait_share = trained.seconds > 0 ? trained.wait_seconds / trained.seconds : 0;

  if (const auto lr = loop.schedule->lr_after_epoch(epoch, record.monitored))
    set_lr(*loop.optimizer, *lr);
  record.lr = get_lr(*loop.optimizer);
  loop.stopping.update(epoch, record.monitored);
  const bool finite = std::isfinite(record.monitored);
  record.best =
      finite &&
      (std::isnan(loop.best_value) ||
       (loop.maximise ? record.monitored > loop.best_value : record.monitored < loop.best_value));
  if (record.best) {
    loop.best_value = record.monitored;
    loop.result.best_epoch = epoch;
  }
  return record;
}

// checkpoints/last.pt (and best.pt), metrics.csv, events.jsonl and the log line of one epoch.
void save_epoch(Setup& s, LoopState& loop, const EpochRecord& record, const fs::path& run_dir) {
  const TrainConfig& c = s.config;
  if (!s.main_rank()) return;
  checkpoint::save_checkpoint(loop.last_path, make_meta(s, record.epoch, loop.saved_state()),
                              *s.model, loop.optimizer.get());
  if (record.best) copy_atomically(loop.last_path, loop.best_path);
  write_file_atomically(run_dir / "metrics.csv", metrics_csv(loop.result.history));
  loop.events.write("epoch", record_to_json(record));
  std::string metric_text;
  if (c.train.monitor != "val_loss")
    metric_text = " " + c.train.monitor + " " + csv_number(record.monitored);
  sarseg::log::info(
      "epoch {}/{}: train_loss {:.4f} val_loss {:.4f}{} lr {:.3g} {:.1f}s {:.1f} samples/s{}",
      record.epoch, c.train.max_epochs, record.train_loss, record.val_loss, metric_text, record.lr,
      record.seconds, record.samples_per_second, record.best ? " (best)" : "");
}

// At the end of training: fits the temperatures of the last and the best weights on the
// validation patches and records them in checkpoints/last.pt and best.pt.
void record_temperatures(Setup& s, LoopState& loop) {
  if (s.rank != 0 || !fs::exists(loop.last_path)) return;
  auto temperatures_text = [](const std::vector<double>& t) {
    std::string text;
    for (double v : t)
      text += (text.empty() ? "" : ", ") + csv_number(v);
    return text;
  };
  const auto last_temperatures = fit_temperatures(s);
  auto last_meta = checkpoint::read_checkpoint_meta(loop.last_path);
  last_meta.temperatures = last_temperatures;
  checkpoint::save_checkpoint(loop.last_path, last_meta, *s.model, loop.optimizer.get());
  std::vector<double> best_temperatures = last_temperatures;
  if (loop.result.best_epoch == last_meta.epoch || !fs::exists(loop.best_path)) {
    copy_atomically(loop.last_path, loop.best_path);
  } else {
    // The best epoch's weights and optimiser state, loaded into the (finished) model.
    auto optimizer = make_optimizer(s.config.optim, s.model->parameters());
    checkpoint::load_checkpoint_state(loop.best_path, *s.model, optimizer.get(), false, s.device);
    best_temperatures = fit_temperatures(s);
    auto best_meta = checkpoint::read_checkpoint_meta(loop.best_path);
    best_meta.temperatures = best_temperatures;
    checkpoint::save_checkpoint(loop.best_path, best_meta, *s.model, optimizer.get());
  }
  sarseg::log::info("temperature scaling on the validation patches: last {} / best {}",
                    temperatures_text(last_temperatures), temperatures_text(best_temperatures));
}

TrainResult train_loop(Setup& s, const fs::path& run_dir, const TrainCallbacks& callbacks,
                       bool resume) {
  const TrainConfig& c = s.config;
  LoopState loop(s, run_dir);
  s.model->set_encoder_bn_frozen(c.model.freeze_encoder_bn);
  place_model(s);
  sarseg::log::info("training arithmetic: {}", s.arithmetic.description);
  loop.optimizer = make_optimizer(c.optim, s.model->parameters());
  loop.schedule = make_schedule(c.schedule, c.optim.lr, loop.maximise);
  std::vector<torch::Tensor> parameters;
  int64_t epoch = loop.start_epoch;
  try {
    if (resume) {
      if (restore_run(s, loop)) return loop.result;
    } else {
      start_run(s, loop);
    }
    epoch = loop.start_epoch;
    parameters = s.model->parameters();
    if (s.group) {
      // Every rank starts from rank 0's weights and buffers (the same init or checkpoint anyway).
      broadcast_module_state(*s.model, *s.group);
      s.reducer = std::make_unique<GradientAllReducer>(parameters, *s.group);
    }
    set_training_mode(s);
    for (epoch = loop.start_epoch + 1; epoch <= c.train.max_epochs; ++epoch) {
      const auto epoch_start = Clock::now();
      const bool frozen = epoch <= c.model.freeze_encoder_epochs;
      s.model->set_encoder_frozen(frozen);
      const EpochTraining trained = train_epoch(s, loop, parameters, epoch, callbacks);
      EpochRecord record = close_epoch(s, loop, epoch, frozen, trained);
      record.seconds = seconds_since(epoch_start);
      loop.result.history.push_back(record);
      save_epoch(s, loop, record, run_dir);
      if (callbacks.on_epoch_end) callbacks.on_epoch_end(record);
      loop.result.epochs_completed = epoch;
      if (loop.stopping.should_stop(epoch)) {
        loop.result.stop_reason = loop.stopping.reason(epoch);
        break;
      }
    }
  } catch (const DistributedError& e) {
    const int64_t saved = loop.result.history.empty() ? 0 : loop.result.history.back().epoch;
    throw DistributedError(std::string(e.what()) + " during epoch " + std::to_string(epoch) + "; " +
                           (saved > 0 ? "the last completed checkpoint " + loop.last_path.string() +
                                            " (epoch " + std::to_string(saved) + ") is intact"
                                      : std::string("no checkpoint was written yet")));
  }
  loop.result.best_value = loop.best_value;
  record_temperatures(s, loop);
  loop.events.write("end", {{"epochs", loop.result.epochs_completed},
                            {"best_epoch", loop.result.best_epoch},
                            {"best_value", number(loop.best_value)},
                            {"monitor", c.train.monitor},
                            {"reason", loop.result.stop_reason}});
  if (s.main_rank())
    sarseg::log::info("finished after {} epochs ({}); best {} {} at epoch {}",
                      loop.result.epochs_completed, loop.result.stop_reason, c.train.monitor,
                      csv_number(loop.best_value), loop.result.best_epoch);
  return loop.result;
}

}  // namespace

SceneSplits load_scene_splits(const TrainConfig& config) {
  require(config.data.source == "files",
          "data.source=" + config.data.source +
              ": these scenes come from the program's scene source (sarseg train, sarseg "
              "experiment), not from training files; in code, pass them to run_training");
  io::SceneReadOptions options;
  options.physical_units = config.data.physical_units;
  options.derived_bands = config.data.bands;
  data::StoreOptions store;
  store.dir = config.data.store;
  store.prepare_missing = config.data.store_prepare;
  store.progress = [](const data::StoreEvent& event) {
    if (event.kind == data::StoreEvent::Kind::kReused) return;
    sarseg::log::info("scene store: {} {} ({}/{}, {:.1f} s){}{}",
                      event.kind == data::StoreEvent::Kind::kPrepared ? "prepared" : "rebuilt",
                      event.scene, event.index, event.total, event.seconds,
                      event.detail.empty() ? "" : ": ", event.detail);
  };
  return data::SceneFileSource(
             config.data.train, config.data.val, config.data.test, options, store,
             data::store_settings(config.data.bands, tasks_of(config),
                                  static_cast<int>(config.data.ignore_label),
                                  config.data.physical_units, config.data.downsample))
      .load();
}

TrainResult run_training(const TrainConfig& config, const TrainCallbacks& callbacks,
                         const SceneSplits* scenes, const DistributedContext* distributed) {
  validate(config);
  const fs::path run_dir(config.output.dir);
  // Everything that can fail on input is checked before the run directory is touched.
  std::optional<SceneSplits> loaded;
  if (!scenes) scenes = &loaded.emplace(load_scene_splits(config));
  Setup setup = make_setup(config, *scenes, nullptr, distributed);
  // Rank 0 alone prepares the run directory; the others hear whether it could.
  std::string failure;
  if (setup.main_rank()) {
    try {
      prepare_run_dir(config, run_dir);
      write_file_atomically(
          run_dir / "config.yaml",
          train_config_schema().to_yaml(config, "sarseg train: resolved configuration") +
              scenes->source_yaml);
    } catch (const UserError& e) {
      if (!setup.group) throw;
      failure = e.what();
    }
  }
  if (any_rank(setup.group, !failure.empty(), "starting the run")) {
    if (!failure.empty()) throw UserError(failure);
    throw UserError(distributed->describe() + ": rank 0 cannot start the run in " +
                    run_dir.string() + " (its message says why)");
  }
  return train_loop(setup, run_dir, callbacks, false);
}

namespace {
// The saved config of a run and the meta record of its last checkpoint.
std::pair<TrainConfig, checkpoint::CheckpointMeta> read_saved_run(const fs::path& run_dir) {
  const fs::path last = run_dir / "checkpoints" / "last.pt";
  require(fs::is_regular_file(last),
          "--resume " + run_dir.string() +
              ": no checkpoints/last.pt (the run ended before its first epoch); start it again");
  if (const std::string damage = checkpoint::checkpoint_damage(last); !damage.empty()) {
    // Refused, never loaded; best.pt is named when it is intact (docs/reliability.md).
    const fs::path best = run_dir / "checkpoints" / "best.pt";
    std::string advice = "no intact checkpoint is left; start the run again";
    if (fs::is_regular_file(best) && checkpoint::checkpoint_damage(best).empty()) {
      const std::string epoch = std::to_string(checkpoint::read_checkpoint_meta(best).epoch);
      advice = best.string() + " (epoch " + epoch + ") is intact: copy it over " + last.string() +
               " to resume after epoch " + epoch + ", or start the run again";
    }
    throw UserError("--resume " + run_dir.string() + ": " + damage + "; " + advice);
  }
  checkpoint::CheckpointMeta meta = checkpoint::read_checkpoint_meta(last);
  TrainConfig config;
  // Checkpoints written while the trainer still owned the simulator hold its synth.* keys: they
  // belong to the scene source, not to training.
  for (const auto& setting : config::flatten_yaml(meta.config_yaml, last.string()))
    if (setting.key.rfind("synth.", 0) != 0) train_config_schema().set(config, setting);
  config.output.dir = run_dir.string();
  validate(config);
  return {std::move(config), std::move(meta)};
}
}  // namespace

TrainResult resume_training(const fs::path& run_dir, const TrainCallbacks& callbacks,
                            const SceneSplits* scenes, const DistributedContext* distributed) {
  const auto [config, meta] = read_saved_run(run_dir);
  std::optional<SceneSplits> loaded;
  if (!scenes) scenes = &loaded.emplace(load_scene_splits(config));
  Setup setup = make_setup(config, *scenes, &meta.normalization, distributed);
  return train_loop(setup, run_dir, callbacks, true);
}

TrainBenchmark benchmark_training(const TrainConfig& config, const SceneSplits& scenes,
                                  int64_t steps, int64_t warmup_steps,
                                  const DistributedContext* distributed) {
  validate(config);
  require(steps > 0, "--steps must be positive");
  Setup s = make_setup(config, scenes, nullptr, distributed);
  s.model->set_encoder_bn_frozen(config.model.freeze_encoder_bn);
  place_model(s);
  set_training_mode(s);
  auto optimizer = make_optimizer(config.optim, s.model->parameters());
  auto parameters = s.model->parameters();
  if (s.group) {
    broadcast_module_state(*s.model, *s.group);
    s.reducer = std::make_unique<GradientAllReducer>(parameters, *s.group);
  }
  TrainBenchmark bench;
  bench.batch_size = config.train.batch_size;
  bench.patch_size = config.data.patch_size;
  bench.torch_threads = torch_threads();
  bench.loader_threads = static_cast<int>(config.data.loader_threads);
  bench.model = models::model_label(s.spec);
  bench.device = s.device.str();
  bench.arithmetic = s.arithmetic.description;
  bench.world_size = s.world_size;
  double measured_seconds = 0, wait_seconds = 0, allreduce_seconds = 0;
  int64_t measured_samples = 0, done = 0;
  for (int64_t epoch = 1; done < warmup_steps + steps; ++epoch) {
    const auto patches = config.data.resample_every_epoch
                             ? draw(s.train, sampler_options(config, false),
                                    train_draw_seed(config, epoch), "data.train")
                             : s.train_patches;
    data::BatchLoader loader(s.train, patches, loader_options(s, false), epoch);
    for (;;) {
      const auto step_start = Clock::now();
      const double wait_before = loader.wait_seconds();
      const double allreduce_before = s.group ? s.group->collective_seconds() : 0.0;
      auto batch = loader.next();
      if (!batch) break;
      const StepResult step = train_step(s, *optimizer, parameters, *batch);
      if (!std::isfinite(step.loss))
        throw TrainingDiverged("bench train: the loss is not finite at step " +
                               std::to_string(done + 1) +
                               "; lower optim.lr or check the input scenes");
      if (s.device.is_cuda()) torch::cuda::synchronize();
      if (done >= warmup_steps) {
        measured_seconds += seconds_since(step_start);
        wait_seconds += loader.wait_seconds() - wait_before;
        if (s.group) allreduce_seconds += s.group->collective_seconds() - allreduce_before;
        measured_samples += step.samples;
      }
      if (++done >= warmup_steps + steps) break;
    }
  }
  bench.steps = steps;
  bench.seconds = measured_seconds;
  bench.samples_per_second = measured_seconds > 0 ? measured_samples / measured_seconds : 0;
  bench.data_wait_share = measured_seconds > 0 ? wait_seconds / measured_seconds : 0;
  bench.allreduce_share = measured_seconds > 0 ? allreduce_seconds / measured_seconds : 0;
  bench.mean_step_ms = 1000.0 * measured_seconds / static_cast<double>(steps);
  return bench;
}

}  // namespace sarseg::train
