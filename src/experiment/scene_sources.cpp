#include "sarseg/experiment/scene_sources.h"

#include <functional>

#include "sarseg/io/derived_bands.h"
#include "sarseg/train/trainer.h"
#include "sarseg/util/error.h"
#include "sarseg/util/find.h"
#include "sarseg/util/strings.h"

namespace sarseg::experiment {
namespace {

struct SceneSourceEntry {
  std::string name;
  std::function<data::SceneSplits(const train::TrainConfig&, const synth::SplitOptions&)> load;
};

const std::vector<SceneSourceEntry>& scene_sources() {
  static const std::vector<SceneSourceEntry> sources = {
      {"files", [](const train::TrainConfig& train,
                   const synth::SplitOptions&) { return train::load_scene_splits(train); }},
      {"synthetic",
       [](const train::TrainConfig& train, const synth::SplitOptions& options) {
         synth::GeneratedSplits generated = synth::generate_splits(options);
         data::SceneSplits splits;
         splits.train = std::move(generated.train);
         splits.val = std::move(generated.val);
         splits.test = std::move(generated.test);
         // data.bands may name 2 km grids and encodings, as for scene files.
         for (auto* split : {&splits.train, &splits.val, &splits.test})
           for (auto& scene : *split)
             io::add_derived_bands(scene, train.data.bands);
         splits.source_yaml = synth::split_options_schema().to_yaml(options);
         return splits;
       }},
  };
  return sources;
}

const SceneSourceEntry& find_source(const std::string& name) {
  return find_registered(scene_sources(), name, "scene source", "data.source");
}

}  // namespace

const config::ConfigSchema<TrainJob>& train_job_schema() {
  static const auto schema = [] {
    config::ConfigSchema<TrainJob> s;
    s.include(
        train::train_config_schema(), [](TrainJob & j) -> auto& { return j.train; });
    s.include(
        synth::split_options_schema(), [](TrainJob & j) -> auto& { return j.synth; });
    s.add_check([](const TrainJob& j) {
      find_source(j.train.data.source);
      if (j.train.data.source == "synthetic") synth::validate(j.synth);
    });
    return s;
  }();
  return schema;
}

TrainJob load_train_job(const std::optional<std::filesystem::path>& file,
                        const std::vector<std::string>& overrides) {
  TrainJob job;
  const auto& schema = train_job_schema();
  if (file) schema.load_yaml_file(job, *file);
  schema.apply_overrides(job, overrides);
  schema.validate(job);
  return job;
}

TrainJob saved_train_job(const std::filesystem::path& run_dir) {
  const auto path = run_dir / "config.yaml";
  require(std::filesystem::is_regular_file(path),
          "--resume " + run_dir.string() + ": no config.yaml; give a sarseg training run folder");
  // Checked here too, so that no scenes are made for a run that cannot be resumed.
  require(std::filesystem::is_regular_file(run_dir / "checkpoints" / "last.pt"),
          "--resume " + run_dir.string() +
              ": no checkpoints/last.pt (the run ended before its first epoch); start it again");
  TrainJob job;
  train_job_schema().load_yaml_file(job, path);
  job.train.output.dir = run_dir.string();
  train_job_schema().validate(job);
  return job;
}

std::vector<std::string> scene_source_names() {
  return registered_names(scene_sources());
}

data::SceneSplits load_scenes(const train::TrainConfig& train, const synth::SplitOptions& synth) {
  data::SceneSplits splits = find_source(train.data.source).load(train, synth);
  data::check_scene_splits(splits, train.data.bands, train::tasks_of(train),
                           static_cast<int>(train.data.ignore_label));
  return splits;
}

}  // namespace sarseg::experiment
