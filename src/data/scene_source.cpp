#include "sarseg/data/scene_source.h"

#include "sarseg/data/dataset.h"
#include "sarseg/util/error.h"

namespace sarseg::data {

SceneFileSource::SceneFileSource(std::vector<std::string> train, std::vector<std::string> val,
                                 std::vector<std::string> test, io::SceneReadOptions options)
    : train_(std::move(train)),
      val_(std::move(val)),
      test_(std::move(test)),
      options_(std::move(options)) {}

SceneSplits SceneFileSource::load() const {
  require(!train_.empty(),
          "data.train is empty: list training scene files (or set data.source=synthetic)");
  require(!val_.empty(), "data.val is empty: list validation scene files");
  SceneSplits splits;
  splits.train = read_scene_files(expand_scene_paths(train_, "data.train"), options_);
  splits.val = read_scene_files(expand_scene_paths(val_, "data.val"), options_);
  splits.test = read_scene_files(expand_scene_paths(test_, "data.test"), options_);
  require(!splits.train.empty(), "data.train lists no scene");
  require(!splits.val.empty(), "data.val lists no scene");
  return splits;
}

void check_scene_splits(const SceneSplits& splits, const std::vector<std::string>& bands,
                        const std::vector<TaskSpec>& tasks, int ignore_label) {
  check_scenes(splits.train, bands, tasks, ignore_label, "data.train");
  check_scenes(splits.val, bands, tasks, ignore_label, "data.val");
  check_scenes(splits.test, bands, tasks, ignore_label, "data.test");
}

}  // namespace sarseg::data
