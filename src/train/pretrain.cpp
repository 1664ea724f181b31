// Self-supervised encoder pretraining: VICReg / Barlow Twins on two SAR views, with a collapse
// monitor. See include/sarseg/train/pretrain.h.
#include "sarseg/train/pretrain.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "sarseg/data/dataset.h"
#include "sarseg/data/random.h"
#include "sarseg/data/sampler.h"
#include "sarseg/data/sar_views.h"
#include "sarseg/models/encoders.h"
#include "sarseg/models/model.h"
#include "sarseg/train/ssl_losses.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/strings.h"
#include "sarseg/util/torch_runtime.h"
#include "sarseg/weights/state_dict.h"

namespace fs = std::filesystem;

namespace sarseg::train {
namespace {

using Clock = std::chrono::steady_clock;
using Schema = config::ConfigSchema<PretrainOptions>;

constexpr double kPi = 3.14159265358979323846;

std::string format_number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Schema make_schema() {
  Schema s;
  s.add("ssl.objective", [](PretrainOptions & o) -> auto& { return o.objective; },
        "self-supervised objective: vicreg (variance-invariance-covariance) or barlow (Barlow "
        "Twins)",
        {"vicreg", "barlow"});
  s.add(
      "ssl.init", [](PretrainOptions & o) -> auto& { return o.init; },
      "encoder start of pretraining: random, imagenet, a weight-set name or a weight file");
  s.add(
      "ssl.output", [](PretrainOptions & o) -> auto& { return o.output; },
      "sarseg pretrain: the encoder weight file written (.safetensors; <stem>.json beside it)");
  s.add(
      "ssl.overwrite", [](PretrainOptions & o) -> auto& { return o.overwrite; },
      "sarseg pretrain: replace an existing ssl.output");
  s.add(
      "ssl.epochs", [](PretrainOptions & o) -> auto& { return o.epochs; },
      "pretraining epochs (the learning rate decays to 0 over them: cosine)");
  s.add(
      "ssl.samples_per_epoch", [](PretrainOptions & o) -> auto& { return o.samples_per_epoch; },
      "regions per epoch, each from a uniformly chosen scene, two views each");
  s.add(
      "ssl.batch_size", [](PretrainOptions & o) -> auto& { return o.batch_size; },
      "regions per step (two views each)");
  s.add(
      "ssl.lr", [](PretrainOptions & o) -> auto& { return o.lr; }, "AdamW peak learning rate");
  s.add(
      "ssl.weight_decay", [](PretrainOptions & o) -> auto& { return o.weight_decay; },
      "AdamW weight decay");
  s.add(
      "ssl.grad_clip_norm", [](PretrainOptions & o) -> auto& { return o.grad_clip_norm; },
      "gradient-norm clipping; 0 = off");
  s.add(
      "ssl.region_size", [](PretrainOptions & o) -> auto& { return o.region_size; },
      "side in pixels of the region both views of a sample are cut from");
  s.add(
      "ssl.view_size", [](PretrainOptions & o) -> auto& { return o.view_size; },
      "side in pixels of a view (the encoder input; a multiple of the model's size multiple)");
  s.add(
      "ssl.min_crop_fraction", [](PretrainOptions & o) -> auto& { return o.min_crop_fraction; },
      "a view's crop side is drawn in [this, 1] x ssl.region_size, anywhere in the region");
  s.add(
      "ssl.flips", [](PretrainOptions & o) -> auto& { return o.flips; },
      "random up-down and left-right flips of the views (every channel together)");
  s.add(
      "ssl.rot90", [](PretrainOptions & o) -> auto& { return o.rot90; },
      "random quarter turns of the views (every channel together, incidence angle included)");
  s.add(
      "ssl.gain_db", [](PretrainOptions & o) -> auto& { return o.gain_db; },
      "a gain in [-gain_db, +gain_db] dB per view on the dB bands; 0 = off");
  s.add(
      "ssl.speckle_looks", [](PretrainOptions & o) -> auto& { return o.speckle_looks; },
      "speckle re-sampling: multiplicative Gamma(L, 1/L) noise per pixel on linear intensity of "
      "the dB bands, L looks; 0 = off");
  s.add(
      "ssl.projector_hidden", [](PretrainOptions & o) -> auto& { return o.projector_hidden; },
      "projector hidden width (Linear, BatchNorm, ReLU, Linear)");
  s.add(
      "ssl.projector_dim", [](PretrainOptions & o) -> auto& { return o.projector_dim; },
      "embedding dimension (projector output)");
  s.add(
      "ssl.vicreg_invariance", [](PretrainOptions & o) -> auto& { return o.vicreg_invariance; },
      "VICReg invariance coefficient (lambda)");
  s.add(
      "ssl.vicreg_variance", [](PretrainOptions & o) -> auto& { return o.vicreg_variance; },
      "VICReg variance coefficient (mu)");
  s.add(
      "ssl.vicreg_covariance", [](PretrainOptions & o) -> auto& { return o.vicreg_covariance; },
      "VICReg covariance coefficient (nu)");
  s.add(
      "ssl.barlow_lambda", [](PretrainOptions & o) -> auto& { return o.barlow_lambda; },
      "Barlow Twins off-diagonal weight");
  s.add(
      "ssl.monitor_samples", [](PretrainOptions & o) -> auto& { return o.monitor_samples; },
      "fixed un-augmented regions embedded by the collapse monitor after every epoch");
  s.add(
      "ssl.collapse_min_normalised_std",
      [](PretrainOptions & o) -> auto& { return o.collapse_min_normalised_std; },
      "collapse: per-dimension std of the L2-normalised embeddings x sqrt(dim) below this");
  s.add(
      "ssl.collapse_min_effective_rank",
      [](PretrainOptions & o) -> auto& { return o.collapse_min_effective_rank; },
      "collapse: effective rank of the embeddings below this");
  s.add(
      "ssl.synthetic_unlabelled_per_season",
      [](PretrainOptions & o) -> auto& { return o.synthetic_unlabelled_per_season; },
      "data.source=synthetic: extra simulated scenes per season pretrained on without labels");
  s.add_check([](const PretrainOptions& o) { validate(o); });
  return s;
}

std::vector<const io::Scene*> pointers(const std::vector<io::Scene>& scenes) {
  std::vector<const io::Scene*> out;
  for (const auto& scene : scenes)
    out.push_back(&scene);
  return out;
}

EmbeddingSummary summary_of(const EmbeddingStats& stats) {
  return {stats.mean_std, stats.min_std, stats.normalised_std, stats.effective_rank,
          stats.dimensions};
}

nlohmann::json to_json(const EmbeddingSummary& s) {
  return {{"mean_std", s.mean_std},
          {"min_std", s.min_std},
          {"normalised_std", s.normalised_std},
          {"effective_rank", s.effective_rank},
          {"dimensions", s.dimensions}};
}

EmbeddingSummary embedding_from_json(const nlohmann::json& j) {
  EmbeddingSummary s;
  s.mean_std = j.value("mean_std", 0.0);
  s.min_std = j.value("min_std", 0.0);
  s.normalised_std = j.value("normalised_std", 0.0);
  s.effective_rank = j.value("effective_rank", 0.0);
  s.dimensions = j.value("dimensions", int64_t{0});
  return s;
}

// Views of many samples as one [N, C, V, V] tensor.
torch::Tensor stack_views(const std::vector<data::Patch>& views) {
  const int64_t n = static_cast<int64_t>(views.size());
  const int64_t c = views.front().channels;
  const int64_t v = views.front().size;
  torch::Tensor batch = torch::empty({n, c, v, v}, torch::kFloat);
  float* dst = batch.data_ptr<float>();
  for (const auto& view : views) {
    std::copy(view.input.begin(), view.input.end(), dst);
    dst += view.input.size();
  }
  return batch;
}

struct Networks {
  models::SegmentationModel model{nullptr};
  torch::nn::Sequential projector{nullptr};
  torch::Device device{torch::kCPU};

  // Pooled deepest encoder stage [N, C].
  torch::Tensor represent(const torch::Tensor& x) {
    const auto features = model->encoder_features(x);
    return features.back().mean({2, 3});
  }
};

struct MonitorResult {
  EmbeddingStats embedding;
  EmbeddingStats representation;
};

MonitorResult monitor(Networks& nets, const std::vector<data::PreparedScene>& prepared,
                      const std::vector<data::PatchLocation>& regions,
                      const PretrainOptions& options, const PretrainCallbacks& callbacks,
                      int64_t epoch) {
  const bool constant =
      callbacks.inject_fault && callbacks.inject_fault(epoch, 0) == PretrainFault::kConstantInput;
  // In training mode, as the objective sees the embeddings (BatchNorm on batch statistics: in eval
  // mode the running statistics of the first steps would say little), with the running
  // statistics put back afterwards so that monitoring changes nothing.
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> buffers, saved;
  for (auto& b : nets.model->encoder().buffers())
    buffers.push_back(b);
  for (auto& b : nets.projector->buffers())
    buffers.push_back(b);
  for (const auto& b : buffers)
    saved.push_back(b.clone());
  std::vector<torch::Tensor> representations, embeddings;
  const size_t n = regions.size();
  for (size_t start = 0; start < n;) {
    size_t end = std::min(n, start + size_t(options.batch_size));
    if (n - end < 2) end = n;  // BatchNorm needs two samples in every batch
    std::vector<data::Patch> views;
    for (size_t i = start; i < end; ++i) {
      const auto& at = regions[i];
      views.push_back(data::make_plain_view(prepared[size_t(at.scene)], at.row, at.col,
                                            options.region_size, options.view_size));
    }
    torch::Tensor x = stack_views(views).to(nets.device);
    if (constant) x.zero_();
    const torch::Tensor h = nets.represent(x);
    representations.push_back(h.cpu());
    embeddings.push_back(nets.projector->forward(h).cpu());
    start = end;
  }
  for (size_t i = 0; i < buffers.size(); ++i)
    buffers[i].copy_(saved[i]);
  return {measure_embeddings(torch::cat(embeddings)),
          measure_embeddings(torch::cat(representations))};
}

std::string objective_description(const PretrainOptions& o) {
  if (o.objective == "barlow")
    return "Barlow Twins (lambda " + format_number(o.barlow_lambda) + ")";
  return "VICReg (invariance " + format_number(o.vicreg_invariance) + ", variance " +
         format_number(o.vicreg_variance) + ", covariance " + format_number(o.vicreg_covariance) +
         ")";
}

nlohmann::json record_json(const PretrainResult& r, const PretrainOptions& options) {
  nlohmann::json history = nlohmann::json::array();
  for (const auto& e : r.history)
    history.push_back({{"epoch", e.epoch},
                       {"loss", e.loss},
                       {"invariance", e.invariance},
                       {"variance", e.variance},
                       {"covariance", e.covariance},
                       {"lr", e.lr},
                       {"seconds", e.seconds},
                       {"samples_per_second", e.samples_per_second},
                       {"samples_seen", e.samples_seen},
                       {"embedding", to_json(e.embedding)},
                       {"representation", to_json(e.representation)}});
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& key : pretrain_options_schema().keys())
    settings[key.name] = key.get(options);
  return {{"format", "sarseg ssl pretraining record 1"},
          {"weights", r.weights.filename().string()},
          {"encoder", r.encoder},
          {"objective", r.objective},
          {"init", r.init},
          {"scenes", r.scenes},
          {"epochs", r.epochs},
          {"samples_seen", r.samples_seen},
          {"wall_seconds", r.wall_seconds},
          {"train_seconds", r.train_seconds},
          {"options", settings},
          {"history", history}};
}

}  // namespace

const config::ConfigSchema<PretrainOptions>& pretrain_options_schema() {
  static const Schema schema = make_schema();
  return schema;
}

void validate(const PretrainOptions& o) {
  require(o.objective == "vicreg" || o.objective == "barlow",
          "ssl.objective '" + o.objective + "': use vicreg or barlow");
  require(o.epochs >= 1, "ssl.epochs must be at least 1");
  require(o.batch_size >= 2, "ssl.batch_size must be at least 2 (the objectives need a batch)");
  require(o.samples_per_epoch >= o.batch_size,
          "ssl.samples_per_epoch must be at least ssl.batch_size");
  require(o.lr > 0, "ssl.lr must be positive");
  require(o.weight_decay >= 0 && o.grad_clip_norm >= 0,
          "ssl.weight_decay and ssl.grad_clip_norm must not be negative");
  require(o.view_size >= 8, "ssl.view_size must be at least 8");
  require(o.region_size >= o.view_size / 2,
          "ssl.region_size must be at least half of ssl.view_size");
  require(o.min_crop_fraction > 0 && o.min_crop_fraction <= 1,
          "ssl.min_crop_fraction must be in (0, 1]");
  require(o.gain_db >= 0 && o.speckle_looks >= 0,
          "ssl.gain_db and ssl.speckle_looks must not be negative (0 = off)");
  require(o.projector_hidden >= 1 && o.projector_dim >= 2,
          "ssl.projector_hidden must be positive and ssl.projector_dim at least 2");
  require(o.vicreg_invariance >= 0 && o.vicreg_variance >= 0 && o.vicreg_covariance >= 0 &&
              o.barlow_lambda >= 0,
          "ssl.vicreg_* and ssl.barlow_lambda must not be negative");
  require(o.monitor_samples >= 2, "ssl.monitor_samples must be at least 2");
  require(o.synthetic_unlabelled_per_season >= 0,
          "ssl.synthetic_unlabelled_per_season must not be negative");
}

std::vector<io::Scene> load_unlabelled_scenes(const TrainConfig& config) {
  if (config.data.unlabelled.empty()) return {};
  io::SceneReadOptions options;
  options.physical_units = config.data.physical_units;
  options.derived_bands = config.data.bands;
  return data::read_scene_files(data::expand_scene_paths(config.data.unlabelled, "data.unlabelled"),
                                options);
}

fs::path pretrain_record_path(const fs::path& weights) {
  fs::path record = weights;
  return record.replace_extension(".json");
}

PretrainResult run_pretraining(const TrainConfig& config, const PretrainOptions& options,
                               const std::vector<io::Scene>& scenes,
                               const PretrainCallbacks& callbacks) {
  const auto started = Clock::now();
  validate(options);
  // Every input check before the first step.
  require(!scenes.empty(),
          "no scenes to pretrain on: list unlabelled scenes in data.unlabelled, training scenes "
          "in data.train, or use data.source=synthetic");
  data::check_scenes(scenes, config.data.bands, {}, -1, "pretraining scenes");
  const fs::path output(options.output);
  require(!output.empty(), "ssl.output is empty: name the weight file to write");
  require(
      options.overwrite || !fs::exists(output),
      "ssl.output " + output.string() +
          " exists; choose another file or set ssl.overwrite=true (sarseg pretrain --overwrite) "
          "to replace it");
  if (output.has_parent_path()) ensure_output_directory(output.parent_path());

  const data::Normalization normalization = data::make_normalization(
      data::parse_normalization_method(config.data.normalization, "data.normalization"),
      pointers(scenes), config.data.bands);
  std::vector<data::PreparedScene> prepared;
  for (const auto& scene : scenes)
    prepared.push_back(data::prepare_scene(scene, normalization, {}, -1));
  const auto radiometry = data::radiometric_channels(normalization);

  models::ModelSpec spec = model_spec_of(config);
  spec.init = options.init;
  Networks nets;
  nets.device = torch::Device(resolve_device_name(config.train.device));
  nets.model = models::build_model(spec);
  nets.model->check_input_size(options.view_size, options.view_size);
  if (spec.init != "random" && !spec.init.empty()) models::initialise_encoder(nets.model, spec);
  const models::ModelSpec resolved = nets.model->spec();
  const int64_t channels =
      models::find_encoder(resolved.encoder).stage_channels.at(size_t(resolved.encoder_depth - 1));
  torch::manual_seed(data::Rng::mix(config.train.seed, {0x9707ULL}));
  nets.projector =
      torch::nn::Sequential(torch::nn::Linear(channels, options.projector_hidden),
                            torch::nn::BatchNorm1d(options.projector_hidden), torch::nn::ReLU(),
                            torch::nn::Linear(options.projector_hidden, options.projector_dim));
  nets.model->to(nets.device);
  nets.projector->to(nets.device);
  nets.model->train();
  nets.projector->train();

  std::vector<torch::Tensor> parameters;
  for (const auto& p : nets.model->encoder().parameters())
    parameters.push_back(p);
  for (const auto& p : nets.projector->parameters())
    parameters.push_back(p);
  torch::optim::AdamW optimizer(
      parameters, torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay));

  data::SamplerOptions sampler;
  sampler.patch_size = options.region_size;
  sampler.per_epoch = options.samples_per_epoch;
  sampler.min_valid_fraction = config.data.min_valid_fraction;
  data::SamplerOptions monitor_sampler = sampler;
  monitor_sampler.per_epoch = options.monitor_samples;
  // The sampler speaks of data.patch_size; here the region size is what to change.
  const auto draw_regions = [&](const data::SamplerOptions& o, uint64_t seed) {
    try {
      return data::draw_patches(prepared, o, seed, "pretraining scenes").patches;
    } catch (const UserError& error) {
      throw UserError("no pretraining scene gives a region of ssl.region_size=" +
                      std::to_string(options.region_size) + " px with data.min_valid_fraction=" +
                      format_number(config.data.min_valid_fraction) + " (" + error.what() +
                      "); lower ssl.region_size, or add larger scenes to data.unlabelled");
    }
  };
  const auto monitor_regions =
      draw_regions(monitor_sampler, data::Rng::mix(config.train.seed, {0x3017ULL}));

  VicregWeights vicreg;
  vicreg.invariance = options.vicreg_invariance;
  vicreg.variance = options.vicreg_variance;
  vicreg.covariance = options.vicreg_covariance;
  const CollapseThresholds thresholds{options.collapse_min_normalised_std,
                                      options.collapse_min_effective_rank};

  PretrainResult result;
  result.encoder = spec.encoder;
  result.objective = options.objective;
  result.init = options.init;
  result.scenes = static_cast<int64_t>(scenes.size());
  result.weights = output;
  result.record = pretrain_record_path(output);

  const auto record_epoch = [&](PretrainEpoch& e, const MonitorResult& m) {
    e.embedding = summary_of(m.embedding);
    e.representation = summary_of(m.representation);
    e.embedding_std = m.embedding.per_dimension_std;
    result.history.push_back(e);
    if (callbacks.on_epoch_end) callbacks.on_epoch_end(e);
  };
  {
    PretrainEpoch before;
    before.lr = options.lr;
    record_epoch(before, monitor(nets, prepared, monitor_regions, options, callbacks, 0));
  }

  const int64_t batches = options.samples_per_epoch / options.batch_size;
  const int64_t total_steps = batches * options.epochs;
  int64_t step = 0;
  for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto epoch_started = Clock::now();
    const auto regions =
        draw_regions(sampler, data::Rng::mix(config.train.seed, {0x5517ULL, uint64_t(epoch)}));
    PretrainEpoch e;
    e.epoch = epoch;
    for (int64_t b = 0; b < batches; ++b, ++step) {
      const double lr =
          options.lr * 0.5 * (1.0 + std::cos(kPi * double(step) / double(total_steps)));
      for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      e.lr = lr;
      std::vector<data::Patch> first, second;
      for (int64_t i = b * options.batch_size; i < (b + 1) * options.batch_size; ++i) {
        const auto& at = regions[static_cast<size_t>(i) % regions.size()];
        const data::PreparedScene& scene = prepared[static_cast<size_t>(at.scene)];
        data::SarViewOptions view;
        view.view_size = options.view_size;
        view.min_crop_fraction = options.min_crop_fraction;
        view.flips = options.flips;
        view.rot90 = options.rot90;
        view.gain_db = options.gain_db;
        view.speckle_looks = options.speckle_looks;
        data::Rng rng1(data::Rng::mix(config.train.seed, {uint64_t(epoch), uint64_t(i), 1}));
        data::Rng rng2(data::Rng::mix(config.train.seed, {uint64_t(epoch), uint64_t(i), 2}));
        first.push_back(data::make_sar_view(scene, at.row, at.col, options.region_size, view,
                                            radiometry, rng1));
        second.push_back(data::make_sar_view(scene, at.row, at.col, options.region_size, view,
                                             radiometry, rng2));
      }
      torch::Tensor x1 = stack_views(first).to(nets.device);
      torch::Tensor x2 = stack_views(second).to(nets.device);
      if (callbacks.inject_fault &&
          callbacks.inject_fault(epoch, b + 1) == PretrainFault::kConstantInput) {
        x1.zero_();
        x2.zero_();
      }
      const torch::Tensor z1 = nets.projector->forward(nets.represent(x1));
      const torch::Tensor z2 = nets.projector->forward(nets.represent(x2));
      const SslLossTerms terms = options.objective == "barlow"
                                     ? barlow_twins_loss(z1, z2, options.barlow_lambda)
                                     : vicreg_loss(z1, z2, vicreg);
      const double loss = terms.total.item<double>();
      require(std::isfinite(loss), "pretraining loss is not finite at epoch " +
                                       std::to_string(epoch) + ", step " + std::to_string(b + 1) +
                                       "; lower ssl.lr or check the scenes for extreme values");
      optimizer.zero_grad();
      terms.total.backward();
      if (options.grad_clip_norm > 0)
        torch::nn::utils::clip_grad_norm_(parameters, options.grad_clip_norm);
      optimizer.step();
      const double n = double(b + 1);
      e.loss += (loss - e.loss) / n;
      e.invariance += (terms.invariance - e.invariance) / n;
      e.variance += (terms.variance - e.variance) / n;
      e.covariance += (terms.covariance - e.covariance) / n;
      result.samples_seen += options.batch_size;
      if (callbacks.on_progress) {
        const double elapsed = seconds_since(epoch_started);
        callbacks.on_progress({epoch, options.epochs, b + 1, batches, e.loss,
                               elapsed > 0 ? double((b + 1) * options.batch_size) / elapsed : 0});
      }
    }
    e.seconds = seconds_since(epoch_started);
    e.samples_per_second = e.seconds > 0 ? double(batches * options.batch_size) / e.seconds : 0;
    e.samples_seen = result.samples_seen;
    result.train_seconds += e.seconds;
    result.epochs = epoch;
    const MonitorResult measured =
        monitor(nets, prepared, monitor_regions, options, callbacks, epoch);
    record_epoch(e, measured);
    const std::string problem = collapse_problem(measured.embedding, thresholds);
    if (!problem.empty())
      throw EmbeddingCollapse(
          "pretraining collapsed at epoch " + std::to_string(epoch) + " (" +
          objective_description(options) + "): " + problem + "; no weights were written to " +
          output.string() +
          ". Raise ssl.vicreg_variance / ssl.vicreg_covariance (or use ssl.objective=barlow), "
          "lower ssl.lr, or make the views differ more (ssl.* augmentations)");
  }

  weights::StateDict state;
  for (auto& [name, tensor] : weights::module_state(nets.model->encoder()))
    state.emplace_back("encoder." + name, tensor);
  result.wall_seconds = seconds_since(started);
  std::map<std::string, std::string> metadata = {
      {"format", "sarseg ssl encoder"},
      {"encoder", spec.encoder},
      {"objective", objective_description(options)},
      {"init", options.init},
      {"epochs", std::to_string(result.epochs)},
      {"bands", join(config.data.bands, ",")},
      {"normalization", data::normalization_to_json(normalization)}};
  weights::write_safetensors(output, state, metadata);
  write_file_atomically(result.record, record_json(result, options).dump(1) + "\n");
  return result;
}

PretrainResult read_pretrain_record(const fs::path& weights) {
  const fs::path path = pretrain_record_path(weights);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw UserError(path.string() + " is not a pretraining record (" + e.what() +
                    "); delete it and the weights beside it to pretrain again");
  }
  PretrainResult r;
  r.weights = weights;
  r.record = path;
  r.encoder = j.value("encoder", "");
  r.objective = j.value("objective", "");
  r.init = j.value("init", "");
  r.scenes = j.value("scenes", int64_t{0});
  r.epochs = j.value("epochs", int64_t{0});
  r.samples_seen = j.value("samples_seen", int64_t{0});
  r.wall_seconds = j.value("wall_seconds", 0.0);
  r.train_seconds = j.value("train_seconds", 0.0);
  for (const auto& h : j.value("history", nlohmann::json::array())) {
    PretrainEpoch e;
    e.epoch = h.value("epoch", int64_t{0});
    e.loss = h.value("loss", 0.0);
    e.invariance = h.value("invariance", 0.0);
    e.variance = h.value("variance", 0.0);
    e.covariance = h.value("covariance", 0.0);
    e.lr = h.value("lr", 0.0);
    e.seconds = h.value("seconds", 0.0);
    e.samples_per_second = h.value("samples_per_second", 0.0);
    e.samples_seen = h.value("samples_seen", int64_t{0});
    if (h.contains("embedding")) e.embedding = embedding_from_json(h.at("embedding"));
    if (h.contains("representation"))
      e.representation = embedding_from_json(h.at("representation"));
    r.history.push_back(e);
  }
  return r;
}

}  // namespace sarseg::train
