// docs/config.md lists every configuration key with its real default: its reference table is the
// one the schema generates (train, scene source, experiment and inference keys alike).
#include <gtest/gtest.h>

#include <filesystem>

#include "sarseg/experiment/config.h"
#include "sarseg/experiment/scene_sources.h"
#include "sarseg/models/model.h"
#include "sarseg/util/atomic_file.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {
namespace {

const std::string kBegin = "<!-- config-keys:begin (generated from the schema; see below) -->\n";
const std::string kEnd = "<!-- config-keys:end -->";

TEST(ConfigDocs, ReferenceTableIsTheSchemas) {
  const fs::path docs = fs::path(SARSEG_SOURCE_DIR) / "docs" / "config.md";
  const std::string text = read_file(docs);
  const auto begin = text.find(kBegin);
  const auto end = text.find(kEnd);
  ASSERT_NE(begin, std::string::npos) << docs << " lacks the line " << kBegin;
  ASSERT_NE(end, std::string::npos) << docs << " lacks the line " << kEnd;
  const std::string documented = text.substr(begin + kBegin.size(), end - begin - kBegin.size());
  const std::string generated = experiment_config_schema().markdown_table();
  if (documented != generated) {
    const fs::path fresh = fs::temp_directory_path() / "sarseg_config_keys.md";
    write_file_atomically(fresh, generated);
    FAIL() << docs << ": the key table differs from the schema; replace the lines between the "
           << "config-keys markers with " << fresh;
  }
  for (const auto& key : experiment_config_schema().keys())
    EXPECT_NE(documented.find("`" + key.name + "`"), std::string::npos) << key.name;
}

}  // namespace
}  // namespace sarseg::experiment

// Every example in configs/train/ loads as `sarseg train -c` reads it and builds its model
// (mmseaice.yaml: the plain U-Net on 17 bands with three heads).
TEST(TrainConfigFiles, EveryExampleLoadsAndBuildsItsModel) {
  const std::filesystem::path folder = std::filesystem::path(SARSEG_SOURCE_DIR) / "configs/train";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    SCOPED_TRACE(entry.path().string());
    const auto job = sarseg::experiment::load_train_job(entry.path(), {});
    auto spec = sarseg::train::model_spec_of(job.train);
    spec.init = "random";  // the weights are not what is checked here
    auto model = sarseg::models::build_model(spec);
    EXPECT_EQ(model->spec().in_channels, static_cast<int64_t>(job.train.data.bands.size()));
    EXPECT_EQ(model->spec().heads.size(), job.train.data.tasks.size());
  }
  EXPECT_GE(files, 3);
}
