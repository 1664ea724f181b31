#include "sarseg/data/scene_source.h"

#include "sarseg/data/dataset.h"
#include "sarseg/util/error.h"

namespace sarseg::data {

SceneFileSource::SceneFileSource(std::vector<std::string> train, std::vector<std::string> val,
                                 std::vector<std::string> test, io::SceneReadOptions options,
                                 StoreOptions store, StoreSettings settings)
    : train_(std::move(train)),
      val_(std::move(val)),
      test_(std::move(test)),
      options_(std::move(options)),
      store_(std::move(store)),
      settings_(std::move(settings)) {}

SceneSplits SceneFileSource::load() const {
  require(!train_.empty(),
          "data.train is empty: list training scene files (or set data.source=synthetic)");
  require(!val_.empty(), "data.val is empty: list validation scene files");
  SceneSplits splits;
  if (store_.dir.empty()) {
    splits.train = read_scene_files(expand_scene_paths(train_, "data.train"), options_);
    splits.val = read_scene_files(expand_scene_paths(val_, "data.val"), options_);
  } else {
    splits.stored_train =
        open_store(expand_scene_paths(train_, "data.train"), settings_, store_, "data.train");
    splits.stored_val =
        open_store(expand_scene_paths(val_, "data.val"), settings_, store_, "data.val");
  }
  splits.test = read_scene_files(expand_scene_paths(test_, "data.test"), options_);
  require(!splits.train.empty() || !splits.stored_train.empty(), "data.train lists no scene");
  require(!splits.val.empty() || !splits.stored_val.empty(), "data.val lists no scene");
  return splits;
}

void check_scene_splits(const SceneSplits& splits, const std::vector<std::string>& bands,
                        const std::vector<TaskSpec>& tasks, int ignore_label) {
  check_scenes(splits.train, bands, tasks, ignore_label, "data.train");
  check_scenes(splits.val, bands, tasks, ignore_label, "data.val");
  check_scenes(splits.test, bands, tasks, ignore_label, "data.test");
  check_stored_scenes(splits.stored_train, tasks, ignore_label, "data.train");
  check_stored_scenes(splits.stored_val, tasks, ignore_label, "data.val");
}

}  // namespace sarseg::data
