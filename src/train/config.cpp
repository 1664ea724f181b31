#include "sarseg/train/config.h"

#include <algorithm>

#include "sarseg/data/normalization.h"
#include "sarseg/io/scene.h"
#include "sarseg/models/decoders.h"
#include "sarseg/models/encoders.h"
#include "sarseg/models/model.h"
#include "sarseg/train/optimizers.h"
#include "sarseg/train/scheduler.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"
#include "sarseg/util/torch_runtime.h"

namespace sarseg::train {
namespace {

using Schema = config::ConfigSchema<TrainConfig>;

// "adam = Adam (...); sgd = ..." from a registry's names and descriptions.
template <typename Registry>
std::string described(const Registry& registry) {
  std::vector<std::string> parts;
  for (const auto& info : registry)
    parts.push_back(info.name + " = " + info.description);
  return join(parts, "; ");
}

// "deeplabv3 4, unet 5", from the decoder registry.
std::string decoder_default_depths() {
  std::vector<std::string> parts;
  for (const auto& info : models::decoder_registry())
    parts.push_back(info.name + " " + std::to_string(info.default_encoder_depth));
  return join(parts, ", ");
}

void add_model_keys(Schema& s) {
  s.add(
      "model.encoder", [](TrainConfig & c) -> auto& { return c.model.encoder; },
      "encoder (" + join(models::encoder_names(), ", ") + "; see 'sarseg models')");
  s.add(
      "model.decoder", [](TrainConfig & c) -> auto& { return c.model.decoder; }, "decoder",
      models::decoder_names());
  s.add(
      "model.init", [](TrainConfig & c) -> auto& { return c.model.init; },
      "encoder start: random, imagenet, a weight-set name or a weight file");
  s.add(
      "model.encoder_depth", [](TrainConfig & c) -> auto& { return c.model.encoder_depth; },
      "encoder stages used; 0 = decoder default (" + decoder_default_depths() + ")");
  s.add(
      "model.decoder_channels", [](TrainConfig & c) -> auto& { return c.model.decoder_channels; },
      "unet decoder channels, deepest first");
  s.add(
      "model.aspp_channels", [](TrainConfig & c) -> auto& { return c.model.aspp_channels; },
      "deeplabv3 ASPP channels");
  s.add(
      "model.aspp_rates", [](TrainConfig & c) -> auto& { return c.model.aspp_rates; },
      "deeplabv3 ASPP dilation rates");
  s.add(
      "model.aspp_pool", [](TrainConfig & c) -> auto& { return c.model.aspp_pool; },
      "deeplabv3 image-pool branch AvgPool kernel (fixed, so any scene size runs)");
  s.add(
      "model.dropout", [](TrainConfig & c) -> auto& { return c.model.dropout; },
      "deeplabv3 ASPP projection dropout");
  s.add(
      "model.freeze_encoder_epochs",
      [](TrainConfig & c) -> auto& { return c.model.freeze_encoder_epochs; },
      "epochs at the start during which the encoder gets no gradient");
  s.add(
      "model.freeze_encoder_bn", [](TrainConfig & c) -> auto& { return c.model.freeze_encoder_bn; },
      "keep the encoder's BatchNorm running statistics fixed (small batches)");
  s.add(
      "model.freeze_bn", [](TrainConfig & c) -> auto& { return c.model.freeze_bn; },
      "every BatchNorm layer, encoder and decoder, keeps its running statistics (eval mode): "
      "results then do not depend on how a batch is split over processes");
}

// Speckle filtering of the input (docs/speckle.md).
void add_speckle_keys(Schema& s) {
  std::vector<std::string> filters;
  for (const auto& info : io::speckle_filter_registry())
    filters.push_back(info.name + " = " + info.description);
  s.add(
      "data.speckle_filter", [](TrainConfig & c) -> auto& { return c.data.speckle_filter; },
      "speckle filter of the dB bands, applied in linear intensity once per scene before "
      "normalisation: " +
          join(filters, "; "),
      io::speckle_filter_names());
  s.add(
      "data.speckle_window", [](TrainConfig & c) -> auto& { return c.data.speckle_window; },
      "speckle filter window side in pixels (odd, 3..51; refined_lee is always 7)");
  s.add(
      "data.speckle_looks", [](TrainConfig & c) -> auto& { return c.data.speckle_looks; },
      "equivalent number of looks of the input (lee, enhanced_lee, gamma_map)");
}

// Training at a coarser grid (io/downsample.h).
void add_downsample_key(Schema& s) {
  s.add(
      "data.downsample", [](TrainConfig & c) -> auto& { return c.data.downsample; },
      "train, validate and predict on a grid this many times coarser (SAR averaged in linear "
      "intensity, charts by majority); predictions scored on the native grid; 1 = native");
}

void add_data_keys(Schema& s) {
  s.add("data.source", [](TrainConfig & c) -> auto& { return c.data.source; },
        "scene source: files (data.train/val/test) or synthetic (the simulator, synth.*; "
        "sarseg train and experiment make those scenes)",
        {"files", "synthetic"});
  s.add(
      "data.train", [](TrainConfig & c) -> auto& { return c.data.train; },
      "training scene files (.nc, .tif) or list files (.txt/.list, one path per line)");
  s.add(
      "data.val", [](TrainConfig & c) -> auto& { return c.data.val; },
      "validation scene files or list files");
  s.add(
      "data.test", [](TrainConfig & c) -> auto& { return c.data.test; },
      "test scene files or list files (recorded for 'sarseg eval', not used in training)");
  s.add(
      "data.unlabelled", [](TrainConfig & c) -> auto& { return c.data.unlabelled; },
      "scenes without labels for self-supervised pretraining (sarseg pretrain, the ssl arm), "
      "besides the training scenes; not used by training");
  s.add(
      "data.store", [](TrainConfig & c) -> auto& { return c.data.store; },
      "scene store folder: training and validation scenes prepared once there and read by "
      "window (data.source=files); empty = read whole into memory");
  s.add(
      "data.store_prepare", [](TrainConfig & c) -> auto& { return c.data.store_prepare; },
      "prepare scenes missing from data.store (and rebuild damaged entries); false: refuse them");
  s.add(
      "data.physical_units", [](TrainConfig & c) -> auto& { return c.data.physical_units; },
      "convert AI4Arctic netCDF z-scores back to dB and degrees when reading");
  s.add(
      "data.bands", [](TrainConfig & c) -> auto& { return c.data.bands; },
      "scene bands fed to the model, in channel order; 2 km grids (btemp_*, t2m, ...), "
      "month_sin/month_cos and latitude/longitude are derived at reading (docs/formats.md)");
  s.add(
      "data.tasks", [](TrainConfig & c) -> auto& { return c.data.tasks; },
      "targets LABEL:CLASSES[:ce|mse[:WEIGHT]], one model head each (e.g. SIC:11:mse:1)");
  s.add(
      "data.ignore_label", [](TrainConfig & c) -> auto& { return c.data.ignore_label; },
      "a label value treated like 255 = no label (e.g. 6 = land in the paper's SD labels); -1 "
      "none");
  s.add(
      "data.patch_size", [](TrainConfig & c) -> auto& { return c.data.patch_size; },
      "square training patch size in pixels");
  s.add(
      "data.patches_per_scene", [](TrainConfig & c) -> auto& { return c.data.patches_per_scene; },
      "training patches drawn from each scene");
  s.add(
      "data.patches_per_epoch", [](TrainConfig & c) -> auto& { return c.data.patches_per_epoch; },
      "> 0: this many training patches per epoch, each from a random scene (AutoICE style)");
  s.add(
      "data.val_patches_per_scene",
      [](TrainConfig & c) -> auto& { return c.data.val_patches_per_scene; },
      "validation patches per scene (drawn once)");
  s.add(
      "data.resample_every_epoch",
      [](TrainConfig & c) -> auto& { return c.data.resample_every_epoch; },
      "draw new training patch locations each epoch (false: drawn once, the paper)");
  s.add(
      "data.min_valid_fraction", [](TrainConfig & c) -> auto& { return c.data.min_valid_fraction; },
      "minimum share of a patch with valid input and a label (first task)");
  s.add(
      "data.normalization", [](TrainConfig & c) -> auto& { return c.data.normalization; },
      "input z-score statistics", data::normalization_method_names());
  s.add(
      "data.flips", [](TrainConfig & c) -> auto& { return c.data.flips; },
      "augment with random horizontal and vertical flips");
  s.add(
      "data.rot90", [](TrainConfig & c) -> auto& { return c.data.rot90; },
      "augment with random 90-degree rotations");
  s.add(
      "data.scale", [](TrainConfig & c) -> auto& { return c.data.scale; },
      "augment with a random zoom in [1-scale, 1+scale]; 0 = off");
  s.add(
      "data.cutmix_probability", [](TrainConfig & c) -> auto& { return c.data.cutmix_probability; },
      "share of training samples that get a box of another sample (input and every target); 0 = "
      "off");
  s.add(
      "data.cutmix_beta", [](TrainConfig & c) -> auto& { return c.data.cutmix_beta; },
      "CutMix box area 1 - lambda, lambda ~ Beta(beta, beta)");
  s.add(
      "data.loader_threads", [](TrainConfig & c) -> auto& { return c.data.loader_threads; },
      "background threads preparing batches (0 = in the training thread)");
  s.add(
      "data.prefetch_batches", [](TrainConfig & c) -> auto& { return c.data.prefetch_batches; },
      "batches prepared ahead");
  add_speckle_keys(s);
  add_downsample_key(s);
}

void add_optim_keys(Schema& s) {
  s.add(
      "optim.name", [](TrainConfig & c) -> auto& { return c.optim.name; },
      "optimiser: " + described(optimizer_registry()), optimizer_names());
  s.add(
      "optim.lr", [](TrainConfig & c) -> auto& { return c.optim.lr; }, "learning rate");
  s.add(
      "optim.weight_decay", [](TrainConfig & c) -> auto& { return c.optim.weight_decay; },
      "weight decay (decoupled for adamw)");
  s.add(
      "optim.momentum", [](TrainConfig & c) -> auto& { return c.optim.momentum; }, "sgd momentum");
  s.add(
      "optim.nesterov", [](TrainConfig & c) -> auto& { return c.optim.nesterov; },
      "sgd Nesterov momentum");
  s.add(
      "optim.beta1", [](TrainConfig & c) -> auto& { return c.optim.beta1; }, "adam/adamw beta1");
  s.add(
      "optim.beta2", [](TrainConfig & c) -> auto& { return c.optim.beta2; }, "adam/adamw beta2");
  s.add(
      "optim.grad_clip_norm", [](TrainConfig & c) -> auto& { return c.optim.grad_clip_norm; },
      "clip the global gradient norm to this value; 0 = off");
  s.add(
      "loss.class_weights", [](TrainConfig & c) -> auto& { return c.loss.class_weights; },
      "cross-entropy class weights of the first classification task; [] = none");
}

void add_schedule_keys(Schema& s) {
  s.add(
      "schedule.name", [](TrainConfig & c) -> auto& { return c.schedule.name; },
      "learning-rate schedule: " + described(schedule_registry()), schedule_names());
  s.add(
      "schedule.plateau_factor", [](TrainConfig & c) -> auto& { return c.schedule.plateau_factor; },
      "plateau: lr multiplier on a plateau");
  s.add(
      "schedule.plateau_patience",
      [](TrainConfig & c) -> auto& { return c.schedule.plateau_patience; },
      "plateau: epochs without improvement before reducing");
  s.add(
      "schedule.plateau_threshold",
      [](TrainConfig & c) -> auto& { return c.schedule.plateau_threshold; },
      "plateau: relative improvement that counts");
  s.add(
      "schedule.min_lr", [](TrainConfig & c) -> auto& { return c.schedule.min_lr; },
      "plateau: lower bound of the learning rate");
  s.add(
      "schedule.cosine_t0", [](TrainConfig & c) -> auto& { return c.schedule.cosine_t0; },
      "cosine: epochs of the first cycle");
  s.add(
      "schedule.cosine_t_mult", [](TrainConfig & c) -> auto& { return c.schedule.cosine_t_mult; },
      "cosine: cycle length multiplier after each restart");
  s.add(
      "schedule.cosine_eta_min", [](TrainConfig & c) -> auto& { return c.schedule.cosine_eta_min; },
      "cosine: learning rate at the end of a cycle");
}

void add_train_keys(Schema& s) {
  s.add(
      "train.seed", [](TrainConfig & c) -> auto& { return c.train.seed; },
      "seed of weights, patch sampling, augmentation and dropout");
  s.add(
      "train.batch_size", [](TrainConfig & c) -> auto& { return c.train.batch_size; },
      "patches per batch");
  s.add(
      "train.min_epochs", [](TrainConfig & c) -> auto& { return c.train.min_epochs; },
      "no early stop before this many epochs");
  s.add(
      "train.max_epochs", [](TrainConfig & c) -> auto& { return c.train.max_epochs; },
      "stop after this many epochs");
  s.add(
      "train.monitor", [](TrainConfig & c) -> auto& { return c.train.monitor; },
      "value for best checkpoint, early stopping and plateau: val_loss, val_weighted_f1, "
      "val_macro_f1, val_weighted_iou, val_macro_iou, val_accuracy, val_<LABEL>_<metric>, "
      "val_combined (SIC+SOD+FLOE)");
  s.add(
      "train.patience", [](TrainConfig & c) -> auto& { return c.train.patience; },
      "early stopping: epochs without improvement; 0 = off");
  s.add(
      "train.min_delta", [](TrainConfig & c) -> auto& { return c.train.min_delta; },
      "early stopping: smallest change that counts as improvement");
  s.add(
      "train.device", [](TrainConfig & c) -> auto& { return c.train.device; },
      "cpu, cuda, cuda:N or auto");
  s.add("train.precision", [](TrainConfig & c) -> auto& { return c.train.precision; },
        "arithmetic of forward and backward: fp32, bf16 autocast on the training device "
        "(weights, optimiser and loss stay fp32), or auto = bf16 with channels-last on a GPU or a "
        "CPU with AMX (amx_bf16), fp32 with channels-last on a CPU with avx512_bf16 only, else "
        "fp32",
        {"fp32", "bf16", "auto"});
  s.add(
      "train.channels_last", [](TrainConfig & c) -> auto& { return c.train.channels_last; },
      "NHWC memory layout for weights and activations (fast on GPUs; slower on this LibTorch's CPU "
      "path)");
  s.add(
      "output.dir", [](TrainConfig & c) -> auto& { return c.output.dir; }, "run directory");
  s.add(
      "output.overwrite", [](TrainConfig & c) -> auto& { return c.output.overwrite; },
      "replace an existing run in output.dir (otherwise refuse; resume with --resume)");
  s.add("output.progress", [](TrainConfig & c) -> auto& { return c.output.progress; },
        "progress display: bar on a terminal, else lines", {"auto", "bar", "lines", "off"});
  s.add(
      "output.log_interval_s", [](TrainConfig & c) -> auto& { return c.output.log_interval_s; },
      "seconds between progress lines when not drawing a bar");
}

Schema make_schema() {
  Schema schema;
  add_model_keys(schema);
  add_data_keys(schema);
  add_optim_keys(schema);
  add_schedule_keys(schema);
  add_train_keys(schema);
  schema.add_check([](const TrainConfig& c) { validate(c); });
  return schema;
}

void require_positive(int64_t value, const std::string& key) {
  require(value > 0, key + " must be positive (got " + std::to_string(value) + ")");
}

}  // namespace

const config::ConfigSchema<TrainConfig>& train_config_schema() {
  static const Schema schema = make_schema();
  return schema;
}

TrainConfig load_train_config(const std::optional<std::filesystem::path>& file,
                              const std::vector<std::string>& overrides) {
  TrainConfig config;
  const auto& schema = train_config_schema();
  if (file) schema.load_yaml_file(config, *file);
  schema.apply_overrides(config, overrides);
  schema.validate(config);
  return config;
}

void validate(const TrainConfig& c) {
  const auto tasks = tasks_of(c);
  require(!c.data.bands.empty(), "data.bands is empty; name at least one input band");
  require_positive(c.data.patch_size, "data.patch_size");
  require_positive(c.train.batch_size, "train.batch_size");
  require_positive(c.train.max_epochs, "train.max_epochs");
  require(c.train.min_epochs >= 0 && c.train.min_epochs <= c.train.max_epochs,
          "train.min_epochs must be between 0 and train.max_epochs");
  require(c.data.patches_per_epoch > 0 || c.data.patches_per_scene > 0,
          "data.patches_per_scene or data.patches_per_epoch must be positive");
  require(c.data.patches_per_epoch >= 0, "data.patches_per_epoch must not be negative");
  require_positive(c.data.val_patches_per_scene, "data.val_patches_per_scene");
  require(c.data.min_valid_fraction >= 0.0 && c.data.min_valid_fraction <= 1.0,
          "data.min_valid_fraction must be between 0 and 1");
  require(c.data.scale >= 0.0 && c.data.scale < 1.0, "data.scale must be in [0, 1)");
  require(c.data.cutmix_probability >= 0.0 && c.data.cutmix_probability <= 1.0,
          "data.cutmix_probability must be between 0 and 1");
  require(c.data.cutmix_beta > 0.0, "data.cutmix_beta must be positive");
  require(c.data.loader_threads >= 0 && c.data.loader_threads <= 64,
          "data.loader_threads must be between 0 and 64");
  require(c.data.prefetch_batches >= 1, "data.prefetch_batches must be at least 1");
  require(c.data.store.empty() || c.data.source == "files",
          "data.store holds scene files' preparations: it needs data.source=files (not " +
              c.data.source + ")");
  require(c.data.ignore_label >= -1 && c.data.ignore_label < 255,
          "data.ignore_label must be -1 (none) or a label value 0..254");
  require(c.optim.lr > 0.0, "optim.lr must be positive");
  require(c.optim.weight_decay >= 0.0, "optim.weight_decay must not be negative");
  require(c.optim.grad_clip_norm >= 0.0, "optim.grad_clip_norm must not be negative (0 = off)");
  require(c.schedule.plateau_factor > 0.0 && c.schedule.plateau_factor < 1.0,
          "schedule.plateau_factor must be in (0, 1)");
  require(c.schedule.plateau_patience >= 0, "schedule.plateau_patience must not be negative");
  require_positive(c.schedule.cosine_t0, "schedule.cosine_t0");
  require_positive(c.schedule.cosine_t_mult, "schedule.cosine_t_mult");
  require(c.train.patience >= 0, "train.patience must not be negative (0 = off)");
  require(c.model.freeze_encoder_epochs >= 0, "model.freeze_encoder_epochs must not be negative");
  require(c.output.log_interval_s > 0.0, "output.log_interval_s must be positive");
  io::check_speckle_filter(speckle_filter_of(c), "data.speckle_filter");
  require(c.data.downsample >= 1,
          "data.downsample must be a whole number of at least 1 (1 = the native grid, 10 = "
          "every 10 x 10 block one pixel), not " +
              std::to_string(c.data.downsample));
  require(!c.output.dir.empty(), "output.dir is empty");
  if (!c.loss.class_weights.empty()) {
    const auto first = std::find_if(tasks.begin(), tasks.end(),
                                    [](const data::TaskSpec& t) { return !t.regression; });
    require(first != tasks.end(), "loss.class_weights given but no classification task");
    require(static_cast<int64_t>(c.loss.class_weights.size()) == first->classes,
            "loss.class_weights has " + std::to_string(c.loss.class_weights.size()) +
                " values but task " + first->label + " has " + std::to_string(first->classes) +
                " classes");
    for (double w : c.loss.class_weights)
      require(w >= 0.0, "loss.class_weights must not be negative");
  }
  // The monitor must name something this run computes.
  if (c.train.monitor != "val_loss") {
    const auto names = monitor_names(tasks);
    if (std::find(names.begin(), names.end(), c.train.monitor) == names.end()) {
      auto all = names;
      all.insert(all.begin(), "val_loss");
      const auto close = closest_matches(c.train.monitor, all, 3);
      throw UserError("train.monitor: '" + c.train.monitor + "' is not computed for tasks " +
                      join(c.data.tasks, ", ") + "; did you mean " + join(close, ", ") + "?");
    }
  }
}

std::vector<data::TaskSpec> tasks_of(const TrainConfig& config) {
  return data::parse_tasks(config.data.tasks, "data.tasks");
}

io::SpeckleFilterSpec speckle_filter_of(const TrainConfig& config) {
  return {config.data.speckle_filter, config.data.speckle_window, config.data.speckle_looks};
}

models::ModelSpec model_spec_of(const TrainConfig& config) {
  models::ModelSpec spec = config.model;
  spec.in_channels = static_cast<int64_t>(config.data.bands.size());
  spec.heads.clear();
  for (const auto& task : tasks_of(config))
    spec.heads.push_back({task.label, task.regression ? 1 : task.classes, task.regression});
  spec.seed = config.train.seed;
  spec.freeze_encoder = config.model.freeze_encoder_epochs > 0;
  return spec;
}

std::vector<std::string> monitor_names(const std::vector<data::TaskSpec>& tasks) {
  static const std::vector<std::string> classification = {
      "accuracy", "macro_f1", "weighted_f1", "macro_iou", "weighted_iou", "r2"};
  std::vector<std::string> names;
  for (size_t t = 0; t < tasks.size(); ++t) {
    const auto& task = tasks[t];
    const std::vector<std::string> metrics =
        task.regression ? std::vector<std::string>{"r2", "accuracy"} : classification;
    for (const auto& metric : metrics) {
      if (t == 0) names.push_back("val_" + metric);
      names.push_back("val_" + task.label + "_" + metric);
    }
  }
  bool sic = false, sod = false, floe = false;
  for (const auto& task : tasks) {
    sic |= task.label == "SIC";
    sod |= task.label == "SOD" && !task.regression;
    floe |= task.label == "FLOE" && !task.regression;
  }
  if (sic && sod && floe) names.push_back("val_combined");
  return names;
}

bool monitor_maximises(const std::string& monitor) {
  return !ends_with(monitor, "_loss");
}

TrainArithmetic resolve_train_arithmetic(const TrainSection& train) {
  TrainArithmetic a;
  a.bf16 = train.precision == "bf16";
  a.channels_last = train.channels_last;
  std::string why;
  if (train.precision == "auto") {
    const auto chosen = auto_arithmetic(resolve_device_name(train.device));
    a.bf16 = chosen.bf16;
    a.channels_last = a.channels_last || chosen.channels_last;
    why = " (precision auto: " + chosen.reason + ")";
  }
  a.description = a.bf16 ? "bf16 autocast" : "fp32";
  if (a.channels_last) a.description += ", channels-last";
  a.description += why;
  return a;
}

}  // namespace sarseg::train
