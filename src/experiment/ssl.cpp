#include "sarseg/experiment/ssl.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "sarseg/data/dataset.h"
#include "sarseg/data/random.h"
#include "sarseg/experiment/plan.h"
#include "sarseg/experiment/scene_sources.h"
#include "sarseg/models/model.h"
#include "sarseg/util/error.h"
#include "sarseg/util/log.h"
#include "sarseg/util/strings.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {

const config::ConfigSchema<PretrainJob>& pretrain_job_schema() {
  static const auto schema = [] {
    config::ConfigSchema<PretrainJob> s;
    s.include(
        train::train_config_schema(), [](PretrainJob & j) -> auto& { return j.train; });
    s.include(
        synth::split_options_schema(), [](PretrainJob & j) -> auto& { return j.synth; });
    s.add_check([](const PretrainJob& j) {
      const auto names = scene_source_names();
      require(std::find(names.begin(), names.end(), j.train.data.source) != names.end(),
              "data.source '" + j.train.data.source + "': use " + join(names, " or "));
      if (j.train.data.source == "synthetic") synth::validate(j.synth);
    });
    s.include(
        train::pretrain_options_schema(), [](PretrainJob & j) -> auto& { return j.ssl; });
    return s;
  }();
  return schema;
}

PretrainJob load_pretrain_job(const std::optional<fs::path>& file,
                              const std::vector<std::string>& overrides) {
  PretrainJob job;
  const auto& schema = pretrain_job_schema();
  if (file) schema.load_yaml_file(job, *file);
  schema.apply_overrides(job, overrides);
  schema.validate(job);
  return job;
}

std::vector<io::Scene> pretraining_scenes(const train::TrainConfig& train,
                                          const synth::SplitOptions& synth,
                                          const train::PretrainOptions& ssl,
                                          const std::vector<io::Scene>* training) {
  std::vector<io::Scene> scenes;
  if (training) {
    scenes = *training;
  } else if (train.data.source == "synthetic") {
    scenes = synth::generate_splits(synth).train;
  } else if (!train.data.train.empty()) {
    io::SceneReadOptions options;
    options.physical_units = train.data.physical_units;
    options.derived_bands = train.data.bands;
    scenes =
        data::read_scene_files(data::expand_scene_paths(train.data.train, "data.train"), options);
  }
  for (auto& scene : train::load_unlabelled_scenes(train))
    scenes.push_back(std::move(scene));
  if (train.data.source == "synthetic" && ssl.synthetic_unlabelled_per_season > 0) {
    synth::SplitOptions extra = synth;
    // Another seed: other scenes than the labelled ones, the same simulator settings.
    extra.seed = data::Rng::mix(synth.seed, {0x551ULL});
    extra.train_per_season = ssl.synthetic_unlabelled_per_season;
    extra.val_per_season = 1;
    extra.test_per_season = 0;
    for (auto& scene : synth::generate_splits(extra).train) {
      scene.id = "unlabelled_" + scene.id;
      scenes.push_back(std::move(scene));
    }
  }
  // Pretraining reads no label: dropping them keeps a label problem of an unlabelled scene from
  // mattering and saves memory.
  for (auto& scene : scenes)
    scene.labels.clear();
  return scenes;
}

bool is_ssl_arm(const ArmSpec& arm) {
  return arm.init == kSslInit;
}

fs::path ssl_weights_path(const fs::path& out_dir) {
  return out_dir / "ssl_pretraining" / "encoder.safetensors";
}

namespace {
// Pretraining for the experiment, while this worker holds the claim.
train::PretrainResult pretrain_now(const ExperimentConfig& config,
                                   const std::vector<io::Scene>& scenes, const fs::path& weights);
}  // namespace

void check_ssl_arm(const ExperimentConfig& config, const std::vector<io::Scene>& scenes) {
  const std::string what = "the ssl arm (experiment.arms)";
  require(!scenes.empty(),
          what +
              " has no scenes to pretrain on: list unlabelled scenes in data.unlabelled or "
              "training scenes in data.train (or set ssl.synthetic_unlabelled_per_season with "
              "data.source=synthetic), or remove the ssl arm");
  try {
    data::check_scenes(scenes, config.train.data.bands, {}, -1, "pretraining scenes");
  } catch (const UserError& error) {
    throw UserError(what + ": " + error.what());
  }
  const int64_t region = config.ssl.region_size;
  const bool fits = std::any_of(scenes.begin(), scenes.end(), [&](const io::Scene& s) {
    return s.height >= region && s.width >= region;
  });
  require(fits, what + ": no pretraining scene holds a region of ssl.region_size = " +
                    std::to_string(region) + " px (the largest is " +
                    std::to_string(std::max_element(scenes.begin(), scenes.end(),
                                                    [](const io::Scene& a, const io::Scene& b) {
                                                      return a.height * a.width <
                                                             b.height * b.width;
                                                    })
                                       ->height) +
                    " px high); lower ssl.region_size or add larger scenes to data.unlabelled");
  models::ModelSpec spec = train::model_spec_of(config.train);
  spec.init = "random";
  try {
    models::build_model(spec)->check_input_size(config.ssl.view_size, config.ssl.view_size);
  } catch (const UserError& error) {
    throw UserError(what + ", ssl.view_size: " + error.what());
  }
}

std::optional<train::PretrainResult> experiment_pretraining(const ExperimentConfig& config,
                                                            const std::vector<io::Scene>& scenes,
                                                            const fs::path& out_dir,
                                                            bool train_if_missing) {
  const fs::path weights = ssl_weights_path(out_dir);
  const fs::path record = train::pretrain_record_path(weights);
  const auto finished = [&] { return fs::exists(weights) && fs::exists(record); };
  if (finished()) {
    sarseg::log::info("experiment: ssl arm: pretrained encoder kept from {}", weights.string());
    return train::read_pretrain_record(weights);
  }
  if (!train_if_missing) return std::nullopt;

  check_ssl_arm(config, scenes);
  const fs::path dir = weights.parent_path();
  // One worker pretrains; the others wait for its weights (sarseg experiment --jobs N).
  std::string holder;
  while (true) {
    const std::optional<RunClaim> claim = RunClaim::try_claim(dir, &holder);
    if (finished()) return train::read_pretrain_record(weights);
    if (claim) return pretrain_now(config, scenes, weights);
    sarseg::log::info("experiment: ssl arm: waiting for the pretraining of another worker ({})",
                      holder);
    std::this_thread::sleep_for(std::chrono::seconds(5));
  }
}

namespace {
train::PretrainResult pretrain_now(const ExperimentConfig& config,
                                   const std::vector<io::Scene>& scenes, const fs::path& weights) {
  train::PretrainOptions options = config.ssl;
  options.output = weights.string();
  options.overwrite = true;  // debris of an interrupted pretraining (no record) is replaced
  train::PretrainCallbacks callbacks;
  callbacks.on_epoch_end = [&](const train::PretrainEpoch& e) {
    sarseg::log::info(
        "experiment: ssl pretraining epoch {}/{}: loss {:.4f}, {:.1f} samples/s, embedding std "
        "{:.3f} (normalised {:.3f}), effective rank {:.2f}; encoder effective rank {:.2f}",
        e.epoch, options.epochs, e.loss, e.samples_per_second, e.embedding.mean_std,
        e.embedding.normalised_std, e.embedding.effective_rank, e.representation.effective_rank);
  };
  sarseg::log::info("experiment: ssl arm: pretraining the {} encoder ({}) on {} scenes, {} epochs",
                    config.train.model.encoder, options.objective, scenes.size(), options.epochs);
  try {
    return train::run_pretraining(config.train, options, scenes, callbacks);
  } catch (const train::EmbeddingCollapse&) {
    throw;
  } catch (const UserError& error) {
    throw UserError(std::string("ssl arm (experiment.arms): ") + error.what());
  }
}
}  // namespace

PretrainingRecord pretraining_record(const train::PretrainResult& r, const fs::path& out_dir) {
  PretrainingRecord record;
  std::error_code ignored;
  const fs::path relative = fs::relative(r.weights, out_dir, ignored);
  record.weights = relative.empty() ? r.weights.string() : relative.string();
  record.encoder = r.encoder;
  record.objective = r.objective;
  record.init = r.init;
  record.scope = "once per experiment (every seed of the ssl arm fine-tunes the same weights)";
  record.scenes = r.scenes;
  record.epochs = r.epochs;
  record.samples_seen = r.samples_seen;
  record.wall_seconds = r.wall_seconds;
  record.train_seconds = r.train_seconds;
  for (const auto& e : r.history) {
    record.effective_rank.push_back(e.embedding.effective_rank);
    record.normalised_std.push_back(e.embedding.normalised_std);
    record.mean_std.push_back(e.embedding.mean_std);
    record.encoder_effective_rank.push_back(e.representation.effective_rank);
    record.loss.push_back(e.loss);
  }
  return record;
}

}  // namespace sarseg::experiment
