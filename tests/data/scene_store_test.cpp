// The scene store: batches read from it are those of scenes prepared in memory; entries made with
// other settings, truncated or damaged are detected; readers and preparers may run at once.
#include "sarseg/data/scene_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <thread>

#include "../io/io_test_util.h"
#include "sarseg/data/loader.h"
#include "sarseg/data/sampler.h"
#include "sarseg/io/scene_io.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace sarseg;

namespace {

// Scene files with invalid pixels, a non-finite value, unlabelled pixels and an ignore label.
std::vector<fs::path> write_scenes(const sarseg::testing::TempDir& dir, int count,
                                   const std::string& extension = ".nc") {
  std::vector<fs::path> paths;
  for (int i = 0; i < count; ++i) {
    io::Scene scene = io::test::make_scene(48 + 8 * i, 56);
    scene.id = "scene" + std::to_string(i);
    for (auto& band : scene.bands)
      for (size_t p = 0; p < band.pixels.data.size(); ++p)
        band.pixels.data[p] += 0.5f * static_cast<float>(i) + 0.01f * static_cast<float>(p % 13);
    scene.bands[0].pixels.at(5, 7) = std::nanf("");
    for (int64_t c = 0; c < 20; ++c)
      scene.valid.at(10, c) = 0;
    paths.push_back(dir / ("scene" + std::to_string(i) + extension));
    io::write_scene(scene, paths.back());
  }
  return paths;
}

const std::vector<std::string> kBands = {"hh_db", "hv_db", "incidence_deg"};
const std::vector<data::TaskSpec> kTasks = {{"SOD", 6, false, 1.0}, {"SIC", 11, true, 1.0}};
constexpr int kIgnore = 3;

data::StoreSettings settings() {
  return data::store_settings(kBands, kTasks, kIgnore, true);
}

std::vector<data::Batch> batches(const std::vector<const data::SceneWindows*>& scenes,
                                 const std::vector<data::PatchLocation>& patches, int threads) {
  data::LoaderOptions options;
  options.batch_size = 3;
  options.patch_size = 16;
  options.threads = threads;
  options.augment.flips = true;
  options.augment.rot90 = true;
  options.augment.scale = 0.3;
  options.seed = 11;
  data::BatchLoader loader(scenes, patches, options, 2);
  std::vector<data::Batch> out;
  while (auto batch = loader.next())
    out.push_back(std::move(*batch));
  return out;
}

std::vector<const data::SceneWindows*> raw(
    const std::vector<std::shared_ptr<data::StoredSceneWindows>>& scenes) {
  std::vector<const data::SceneWindows*> out;
  for (const auto& s : scenes)
    out.push_back(s.get());
  return out;
}

std::vector<std::shared_ptr<data::StoredSceneWindows>> windows(
    const std::vector<std::shared_ptr<const data::StoredScene>>& entries,
    const data::Normalization& norm) {
  std::vector<std::shared_ptr<data::StoredSceneWindows>> out;
  for (const auto& e : entries)
    out.push_back(std::make_shared<data::StoredSceneWindows>(e, norm, kTasks));
  return out;
}

data::StoreOptions options_for(const fs::path& dir, bool prepare,
                               std::vector<data::StoreEvent>* events = nullptr) {
  data::StoreOptions options;
  options.dir = dir;
  options.prepare_missing = prepare;
  if (events) options.progress = [events](const data::StoreEvent& e) { events->push_back(e); };
  return options;
}

}  // namespace

TEST(SceneStore, BatchesEqualThoseOfScenesPreparedInMemory) {
  sarseg::testing::TempDir dir;
  const auto paths = write_scenes(dir, 3);
  io::SceneReadOptions read;
  read.physical_units = true;
  const auto scenes = data::read_scene_files(paths, read);
  for (const auto method :
       {data::NormalizationMethod::kPooled, data::NormalizationMethod::kSceneAverage}) {
    std::vector<const io::Scene*> pointers;
    for (const auto& s : scenes)
      pointers.push_back(&s);
    const auto norm = data::make_normalization(method, pointers, kBands);
    std::vector<data::PreparedScene> prepared;
    for (const auto& s : scenes)
      prepared.push_back(data::prepare_scene(s, norm, kTasks, kIgnore));

    const auto entries =
        data::open_store(paths, settings(), options_for(dir / "store", true), "data.train");
    const auto stored_norm =
        data::make_normalization(method, data::stored_band_sums(entries, kBands), kBands,
                                 data::stored_band_units(*entries.front(), kBands));
    EXPECT_EQ(stored_norm.mean, norm.mean);  // exactly: the same sums in the same order
    EXPECT_EQ(stored_norm.std, norm.std);
    EXPECT_EQ(stored_norm.units, norm.units);
    const auto stored = windows(entries, stored_norm);

    data::SamplerOptions sampler;
    sampler.patch_size = 16;
    sampler.per_scene = 7;
    sampler.min_valid_fraction = 0.55;
    const auto in_memory = data::draw_patches(prepared, sampler, 5, "data.train").patches;
    const auto from_store =
        data::draw_window_patches(raw(stored), sampler, 5, "data.train").patches;
    ASSERT_EQ(in_memory.size(), from_store.size());
    for (size_t i = 0; i < in_memory.size(); ++i) {
      EXPECT_EQ(in_memory[i].scene, from_store[i].scene);
      EXPECT_EQ(in_memory[i].row, from_store[i].row);
      EXPECT_EQ(in_memory[i].col, from_store[i].col);
    }
    const auto a = batches(data::scene_pointers(prepared), in_memory, 0);
    const auto b = batches(raw(stored), from_store, 2);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(torch::equal(a[i].input, b[i].input)) << "batch " << i;
      ASSERT_EQ(a[i].targets.size(), 2u);
      for (size_t t = 0; t < a[i].targets.size(); ++t)
        EXPECT_TRUE(torch::equal(a[i].targets[t], b[i].targets[t])) << "batch " << i;
    }
    // Whole-scene windows, invalid pixels included.
    const auto& s = prepared[1];
    std::vector<float> input(static_cast<size_t>(s.channels * s.height * s.width));
    stored[1]->read_input(input.data(), 0, 0, s.height, s.width);
    EXPECT_EQ(input, s.input);
    EXPECT_EQ(stored[1]->count_valid(3, 4, 20, 30), s.sample_valid.count(3, 4, 20, 30));
  }
}

TEST(SceneStore, AnEntryIsReusedAndOtherSettingsAreNeverMixedIn) {
  sarseg::testing::TempDir dir;
  const auto paths = write_scenes(dir, 2);
  std::vector<data::StoreEvent> events;
  data::open_store(paths, settings(), options_for(dir / "store", true, &events), "data.train");
  data::open_store(paths, settings(), options_for(dir / "store", false, &events), "data.train");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, data::StoreEvent::Kind::kPrepared);
  EXPECT_EQ(events[3].kind, data::StoreEvent::Kind::kReused);

  // Other bands, another ignore label, other units: no entry of the first settings is read.
  auto fewer_bands = settings();
  fewer_bands.bands = {"hh_db", "hv_db"};
  auto other_ignore = settings();
  other_ignore.ignore_label = -1;
  auto zscores = settings();
  zscores.physical_units = false;
  for (const auto& other : {fewer_bands, other_ignore, zscores}) {
    try {
      data::open_store(paths, other, options_for(dir / "store", false), "data.train");
      ADD_FAILURE() << "an entry made with other settings was used";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("has no entry for"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("other settings"), std::string::npos) << e.what();
    }
    events.clear();
    const auto entries =
        data::open_store(paths, other, options_for(dir / "store", true, &events), "data.train");
    EXPECT_EQ(events[0].kind, data::StoreEvent::Kind::kPrepared);
    EXPECT_EQ(entries[0]->settings(), other.canonical());
  }
  // A changed scene file (new modification time) is a new entry too.
  fs::last_write_time(paths[0], fs::last_write_time(paths[0]) + std::chrono::seconds(5));
  events.clear();
  data::open_store(paths, settings(), options_for(dir / "store", true, &events), "data.train");
  EXPECT_EQ(events[0].kind, data::StoreEvent::Kind::kPrepared);
  EXPECT_EQ(events[1].kind, data::StoreEvent::Kind::kReused);
}

TEST(SceneStore, TruncatedOrDamagedEntriesAreDetected) {
  sarseg::testing::TempDir dir;
  const auto paths = write_scenes(dir, 1);
  const auto entry =
      data::open_store(paths, settings(), options_for(dir / "store", true), "data.train")[0];
  const fs::path file = entry->file();
  const auto size = fs::file_size(file);
  const auto refused = [&](const std::string& expected) {
    try {
      data::open_store(paths, settings(), options_for(dir / "store", false), "data.train");
      ADD_FAILURE() << "a bad entry was used";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  fs::resize_file(file, size - 1000);
  refused("truncated");
  std::vector<data::StoreEvent> events;
  data::open_store(paths, settings(), options_for(dir / "store", true, &events), "data.train");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, data::StoreEvent::Kind::kRebuilt);
  EXPECT_NE(events[0].detail.find("truncated"), std::string::npos);
  EXPECT_EQ(fs::file_size(file), size);

  // A changed byte in the first data block, and one in the header.
  const auto flip = [&](uint64_t offset) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(&c, 1);
  };
  flip(size - 1);  // the last sampled block of the last plane ends the file
  refused("does not match its checksum");
  data::open_store(paths, settings(), options_for(dir / "store", true), "data.train");
  flip(120);
  refused("header checksum");
  EXPECT_THROW(data::StoredScene::open(file), data::StoreEntryDamaged);
}

TEST(SceneStore, ConcurrentPreparersAndReaders) {
  sarseg::testing::TempDir dir;
  // GeoTIFF: GDAL reads from several threads (libnetcdf is serialised; processes preparing at
  // once are test DataCli.ConcurrentPreparersShareOneStore).
  const auto paths = write_scenes(dir, 2, ".tif");
  // Two preparing the same entries at once: each renames a complete file.
  std::vector<std::thread> preparers;
  for (int k = 0; k < 2; ++k)
    preparers.emplace_back([&] {
      data::open_store(paths, settings(), options_for(dir / "store", true), "data.train");
    });
  for (auto& t : preparers)
    t.join();
  size_t files = 0;
  for (const auto& item : fs::directory_iterator(dir / "store")) {
    EXPECT_EQ(item.path().extension(), ".scene") << "left behind: " << item.path();
    ++files;
  }
  EXPECT_EQ(files, 2u);
  const auto entries =
      data::open_store(paths, settings(), options_for(dir / "store", false), "data.train");
  const auto norm = data::make_normalization(data::NormalizationMethod::kPooled,
                                             data::stored_band_sums(entries, kBands), kBands,
                                             data::stored_band_units(*entries.front(), kBands));
  data::SamplerOptions sampler;
  sampler.patch_size = 16;
  sampler.per_scene = 10;
  const auto stored = windows(entries, norm);
  const auto patches = data::draw_window_patches(raw(stored), sampler, 3, "data.train").patches;
  const auto expected = batches(raw(stored), patches, 0);
  // Readers with their own opened entries, and readers sharing one, all at once.
  std::vector<std::vector<data::Batch>> got(4);
  std::vector<std::thread> readers;
  for (size_t k = 0; k < got.size(); ++k)
    readers.emplace_back([&, k] {
      auto own = k % 2 == 0
                     ? windows(data::open_store(paths, settings(),
                                                options_for(dir / "store", false), "data.train"),
                               norm)
                     : stored;
      got[k] = batches(raw(own), patches, 2);
    });
  for (auto& t : readers)
    t.join();
  for (const auto& run : got) {
    ASSERT_EQ(run.size(), expected.size());
    for (size_t i = 0; i < run.size(); ++i)
      EXPECT_TRUE(torch::equal(run[i].input, expected[i].input));
  }
}

// data.downsample: a store entry holds the downsampled scene under its own key, so an entry made
// at one factor is never read at another; factor 1 keeps the keys of entries made before it.
TEST(SceneStore, ADownsampledEntryHasItsOwnKeyAndHoldsTheCoarseScene) {
  sarseg::testing::TempDir dir;
  const auto paths = write_scenes(dir, 1);  // 48 x 56
  const data::StoreSettings native = settings();
  const data::StoreSettings x2 =
      data::store_settings(kBands, kTasks, kIgnore, true, /*downsample=*/2);
  EXPECT_EQ(native.canonical().find("downsample"), std::string::npos);
  EXPECT_NE(x2.canonical(), native.canonical());
  const auto identity = data::scene_file_identity(paths[0]);
  EXPECT_NE(data::store_entry_path(dir / "store", identity, x2),
            data::store_entry_path(dir / "store", identity, native));
  std::vector<data::StoreEvent> events;
  const auto coarse = data::open_store(paths, x2, options_for(dir / "store", true, &events), "t");
  EXPECT_EQ(coarse.front()->height(), 24);
  EXPECT_EQ(coarse.front()->width(), 28);
  const auto full = data::open_store(paths, native, options_for(dir / "store", true, &events), "t");
  EXPECT_EQ(full.front()->height(), 48);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, data::StoreEvent::Kind::kPrepared);  // not the x2 entry reused
}
