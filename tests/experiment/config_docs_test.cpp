// docs/config.md lists every configuration key with its real default: its reference table is the
// one the schema generates (train, scene source, experiment and inference keys alike).
#include <gtest/gtest.h>

#include <filesystem>

#include "sarseg/experiment/config.h"
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
