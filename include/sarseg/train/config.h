// The training configuration: one typed struct tree holding every default, and its key schema.
//
//   TrainConfig config = load_train_config("configs/train/quick.yaml", {"optim.lr=3e-4"});
//   train_config_schema().to_yaml(config);      // the resolved config (written to the run dir)
//   train_config_schema().help_text();          // every key with its default
//
// The defaults are the paper's protocol (paper-and-dataset.md 1.2-1.4): ResNet18 cut at layer3 +
// DeepLabV3 head, HH/HV/incidence inputs z-scored with training statistics, 768-px patches, 200
// per scene drawn once, batch 32, Adam 1e-5, ReduceLROnPlateau(patience 5, factor 0.1, min 1e-8),
// gradient-norm clipping 1.0, early stopping on val_loss (patience 20, min_delta 1e-4), 10..300
// epochs, no augmentation. configs/train/*.yaml hold the quick and AutoICE recipes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sarseg/data/task.h"
#include "sarseg/io/speckle.h"
#include "sarseg/models/spec.h"
#include "sarseg/util/config.h"

namespace sarseg::train {

// The model keys (model.encoder, model.decoder, ...) are the ModelSpec fields, defaults and all;
// model_spec_of() fills the fields that other sections decide (in_channels from data.bands, heads
// from data.tasks, seed from train.seed, freeze_encoder from freeze_encoder_epochs).
struct ModelSection : models::ModelSpec {
  int64_t freeze_encoder_epochs = 0;  // encoder gets no gradient during the first N epochs
  bool freeze_bn = false;             // every BatchNorm layer in eval mode while training
};

struct DataSection {
  std::string source = "files";    // the scene source: files, or one the caller provides
  std::vector<std::string> train;  // scene files or list files (*.txt, *.list)
  std::vector<std::string> val;
  std::vector<std::string> test;
  // Scenes without labels for self-supervised pretraining (sarseg pretrain, the ssl arm), besides
  // the training scenes; training itself does not read them.
  std::vector<std::string> unlabelled;
  std::string store;           // scene store folder for train/val scenes; empty = in memory
  bool store_prepare = true;   // prepare scenes missing from the store (false: refuse them)
  bool physical_units = true;  // netCDF z-scores converted back to dB / degrees
  std::vector<std::string> bands = {"hh_db", "hv_db", "incidence_deg"};
  std::vector<std::string> tasks = {"SOD:6"};  // LABEL:CLASSES[:ce|mse[:WEIGHT]]
  int64_t ignore_label = -1;  // a label value treated like 255 (no label); -1 = none
  int64_t patch_size = 768;
  int64_t patches_per_scene = 200;
  int64_t patches_per_epoch = 0;  // > 0: this many per epoch from random scenes instead
  int64_t val_patches_per_scene = 200;
  bool resample_every_epoch = false;  // false: patches drawn once (the paper)
  double min_valid_fraction = 0.7;
  std::string normalization = "training";
  bool flips = false;
  bool rot90 = false;
  double scale = 0.0;
  double cutmix_probability = 0.0;  // share of training samples given a CutMix box; 0 = off
  double cutmix_beta = 1.0;         // lambda ~ Beta(beta, beta); the box covers 1 - lambda
  int64_t loader_threads = 1;
  int64_t prefetch_batches = 4;
  // Speckle filter of the dB bands, in linear intensity, before normalisation (io/speckle.h);
  // recorded in the checkpoint's normalisation, so inference filters alike.
  std::string speckle_filter = io::SpeckleFilterSpec{}.filter;
  int64_t speckle_window = io::SpeckleFilterSpec{}.window;
  double speckle_looks = io::SpeckleFilterSpec{}.looks;
  // Train, validate and predict on a grid this many times coarser (io/downsample.h: dB averaged
  // in linear intensity, charts by majority); recorded in the checkpoint's normalisation, so
  // inference downsamples alike and scores on the native grid. 1 = the native grid.
  int64_t downsample = 1;
};

struct OptimSection {
  std::string name = "adam";  // adam | adamw | sgd
  double lr = 1e-5;
  double weight_decay = 0.0;
  double momentum = 0.9;  // sgd
  bool nesterov = false;  // sgd
  double beta1 = 0.9;     // adam, adamw
  double beta2 = 0.999;
  double grad_clip_norm = 1.0;  // 0 = off
};

struct LossSection {
  std::vector<double> class_weights;  // for the first classification task; empty = none
};

struct ScheduleSection {
  std::string name = "plateau";  // plateau | cosine | none
  double plateau_factor = 0.1;
  int64_t plateau_patience = 5;
  double plateau_threshold = 1e-4;  // relative improvement that counts
  double min_lr = 1e-8;
  int64_t cosine_t0 = 10;     // epochs of the first cycle
  int64_t cosine_t_mult = 1;  // cycle length factor
  double cosine_eta_min = 0.0;
};

struct TrainSection {
  uint64_t seed = 1;
  int64_t batch_size = 32;
  int64_t min_epochs = 10;
  int64_t max_epochs = 300;
  std::string monitor = "val_loss";  // val_loss or a validation metric (see --help)
  int64_t patience = 20;             // early stopping; 0 = off
  double min_delta = 1e-4;
  std::string device = "cpu";      // cpu | cuda | cuda:N | auto
  std::string precision = "fp32";  // fp32 | bf16 (autocast on the training device) | auto
  bool channels_last = false;      // NHWC weights and activations
};

// What a training run computes in: `precision: auto` is what util/torch_runtime.h auto_arithmetic
// picks for the training device (bf16 autocast with channels-last on a GPU or an AMX CPU, fp32 with
// channels-last on a CPU with avx512_bf16 only, else fp32); the others run as given. Weights,
// optimiser state, loss and checkpoints stay fp32 in every case.
struct TrainArithmetic {
  bool bf16 = false;
  bool channels_last = false;
  std::string description;  // e.g. "bf16 autocast, channels-last (precision auto: ...)"
};
TrainArithmetic resolve_train_arithmetic(const TrainSection& train);

struct OutputSection {
  std::string dir = "runs/train";
  bool overwrite = false;         // replace a finished or abandoned run in dir
  std::string progress = "auto";  // auto | bar | lines | off
  double log_interval_s = 5.0;
};

struct TrainConfig {
  ModelSection model;
  DataSection data;
  OptimSection optim;
  LossSection loss;
  ScheduleSection schedule;
  TrainSection train;
  OutputSection output;
};

const config::ConfigSchema<TrainConfig>& train_config_schema();

// Defaults, then the YAML file (when given), then the overrides, then validation.
TrainConfig load_train_config(const std::optional<std::filesystem::path>& file,
                              const std::vector<std::string>& overrides);
void validate(const TrainConfig& config);

std::vector<data::TaskSpec> tasks_of(const TrainConfig& config);
models::ModelSpec model_spec_of(const TrainConfig& config);
// data.speckle_filter, data.speckle_window, data.speckle_looks.
io::SpeckleFilterSpec speckle_filter_of(const TrainConfig& config);
// Monitored values other than val_loss, for these tasks ("val_SOD_weighted_f1", ...).
std::vector<std::string> monitor_names(const std::vector<data::TaskSpec>& tasks);
// True when a larger monitored value is better.
bool monitor_maximises(const std::string& monitor);

}  // namespace sarseg::train
