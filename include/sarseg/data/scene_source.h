// Where training scenes come from. A scene source hands the three splits to training; files are
// one source, the simulator another (experiment/scene_sources.h names them), stores and raw
// products later ones. Training links none of them.
//
//   data::SceneFileSource source({"train.txt"}, {"val.txt"}, {"test.txt"}, read_options);
//   data::SceneSplits splits = source.load();
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sarseg/data/scene_store.h"
#include "sarseg/data/task.h"
#include "sarseg/io/scene.h"
#include "sarseg/io/scene_io.h"

namespace sarseg::data {

// Scenes of the three splits, read or generated.
struct SceneSplits {
  std::vector<io::Scene> train, val, test;
  // With a scene store (data.store): the training and validation scenes as store entries, read
  // by window; train and val above stay empty then.
  std::vector<std::shared_ptr<const StoredScene>> stored_train, stored_val;
  bool stored() const { return !stored_train.empty(); }
  // The source's own settings as config YAML (e.g. the `synth.*` keys), written into a training
  // run's config.yaml so that the program can rebuild the source to resume the run; empty for
  // files (their names are training keys).
  std::string source_yaml;
};

class SceneSource {
 public:
  virtual ~SceneSource() = default;
  // The scenes of the three splits. UserError naming the scene or setting when one is unusable.
  virtual SceneSplits load() const = 0;
};

// Scene files named by config entries (a scene file or a list file each, see
// data::expand_scene_paths); training and validation must name at least one scene. With a store
// (store.dir set), training and validation scenes come from data::open_store with `settings`
// (test scenes are still read whole: they are scored one by one).
class SceneFileSource : public SceneSource {
 public:
  SceneFileSource(std::vector<std::string> train, std::vector<std::string> val,
                  std::vector<std::string> test, io::SceneReadOptions options = {},
                  StoreOptions store = {}, StoreSettings settings = {});
  SceneSplits load() const override;

 private:
  std::vector<std::string> train_, val_, test_;
  io::SceneReadOptions options_;
  StoreOptions store_;
  StoreSettings settings_;
};

// Checks every split with data::check_scenes (bands, task labels, label values).
void check_scene_splits(const SceneSplits& splits, const std::vector<std::string>& bands,
                        const std::vector<TaskSpec>& tasks, int ignore_label);

}  // namespace sarseg::data
