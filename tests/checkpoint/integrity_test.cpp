// Checkpoint integrity: the SHA-256 recorded at the end of every checkpoint catches truncated and
// bit-flipped files; they are refused with a UserError naming the file, never loaded.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "infer/tiny_checkpoint.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace sarseg;

namespace {

void expect_refused(const fs::path& path, const std::string& why) {
  EXPECT_NE(checkpoint::checkpoint_damage(path), "") << why;
  EXPECT_THROW(checkpoint::read_checkpoint_meta(path), UserError) << why;
  auto model = models::build_model(test::tiny_spec());
  try {
    checkpoint::load_checkpoint_state(path, *model, nullptr, false);
    ADD_FAILURE() << why << ": loaded";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(CheckpointIntegrity, AnIntactCheckpointPassesItsCheck) {
  sarseg::testing::TempDir dir;
  const auto path = test::write_checkpoint(dir.path(), test::tiny_spec(), test::tiny_spec());
  EXPECT_EQ(checkpoint::checkpoint_damage(path), "");
  EXPECT_EQ(checkpoint::read_checkpoint_meta(path).epoch, 3);
  // The recorded digest is the SHA-256 of the bytes before the trailer.
  const std::string bytes = read_file(path);
  EXPECT_NE(bytes.find("\nSARSEG-SHA256:", bytes.size() - 80), std::string::npos);
}

TEST(CheckpointIntegrity, TruncatedCheckpointsAreRefused) {
  sarseg::testing::TempDir dir;
  const auto path = test::write_checkpoint(dir.path(), test::tiny_spec(), test::tiny_spec());
  const std::string bytes = read_file(path);
  for (size_t keep : {bytes.size() - 1, bytes.size() - 40, bytes.size() - 80, bytes.size() - 81,
                      bytes.size() - 5000, bytes.size() / 2, size_t{100}, size_t{0}}) {
    const fs::path cut = dir / ("cut" + std::to_string(keep) + ".pt");
    write_file_atomically(cut, std::string_view(bytes).substr(0, keep));
    expect_refused(cut, "truncated to " + std::to_string(keep) + " bytes");
  }
}

TEST(CheckpointIntegrity, BitFlipsAnywhereAreRefused) {
  sarseg::testing::TempDir dir;
  const auto path = test::write_checkpoint(dir.path(), test::tiny_spec(), test::tiny_spec());
  const std::string bytes = read_file(path);
  std::mt19937_64 rng(18);
  std::uniform_int_distribution<size_t> position(0, bytes.size() - 1);
  std::vector<size_t> positions = {bytes.size() / 2, bytes.size() - 100, bytes.size() - 2};
  for (int i = 0; i < 17; ++i)
    positions.push_back(position(rng));
  for (size_t at : positions) {
    std::string flipped = bytes;
    flipped[at] = static_cast<char>(flipped[at] ^ (1 << (at % 8)));
    const fs::path bad = dir / "flipped.pt";
    write_file_atomically(bad, flipped);
    expect_refused(bad, "bit flipped at byte " + std::to_string(at));
  }
}

// Format 1 files (written before the checksum) are still read; a format 2 file whose trailer was
// cut off is not mistaken for one.
TEST(CheckpointIntegrity, FormatOneCheckpointsWithoutChecksumStillLoad) {
  sarseg::testing::TempDir dir;
  auto model = models::build_model(test::tiny_spec());
  checkpoint::CheckpointMeta meta;
  meta.spec = test::tiny_spec();
  meta.normalization.bands = {"hh_db", "hv_db", "incidence_deg"};
  meta.normalization.mean = {0, 0, 0};
  meta.normalization.std = {1, 1, 1};
  meta.tasks = {data::TaskSpec{"SOD", 6, false, 1.0}};
  nlohmann::json j;
  j["spec"] = nlohmann::json::parse(checkpoint::model_spec_to_json(meta.spec));
  j["normalization"] = nlohmann::json::parse(data::normalization_to_json(meta.normalization));
  j["tasks"] = {{{"label", "SOD"}, {"classes", 6}, {"regression", false}, {"weight", 1.0}}};
  j["epoch"] = 4;
  torch::serialize::OutputArchive archive, model_archive;
  archive.write("sarseg_checkpoint", c10::IValue(int64_t{1}));
  archive.write("meta", c10::IValue(j.dump()));
  model->save(model_archive);
  archive.write("model", model_archive);
  const fs::path path = dir / "v1.pt";
  archive.save_to(path.string());
  EXPECT_EQ(checkpoint::checkpoint_damage(path), "");
  EXPECT_EQ(checkpoint::read_checkpoint_meta(path).epoch, 4);
  auto loaded = models::build_model(test::tiny_spec());
  EXPECT_NO_THROW(checkpoint::load_checkpoint_state(path, *loaded, nullptr, false));
}
