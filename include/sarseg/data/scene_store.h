// The scene store: each scene file prepared once into one file of raw planes that training reads
// by window, so that resident memory does not grow with the number of scenes.
//
//   data::StoreSettings settings{{"hh_db", "hv_db", "incidence_deg"}, {"SOD"}, -1, true};
//   auto entries = data::open_store(paths, settings, "store/", options, "data.train");
//   data::StoredSceneWindows scene(entries[0], normalization, tasks);   // a data::SceneWindows
//
// An entry holds what data::prepare_scene computes, before normalisation: the input bands as
// float32 with NaN where the input is invalid (the scene's mask, or any input band not finite),
// each task label's target (255 where invalid, unlabelled or data.ignore_label), per-band sums for
// the statistics and per-label histograms for the label checks. Normalisation is applied on read
// (SceneNormalizer::normalise_row), so one store serves every data.normalization and both a run
// and its resume. Entries are keyed by the scene file's identity (absolute path, size,
// modification time) and every setting in StoreSettings; the layout and its checks are in
// docs/formats.md ("Scene store").
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sarseg/data/dataset.h"
#include "sarseg/data/normalization.h"
#include "sarseg/data/task.h"
#include "sarseg/io/scene.h"
#include "sarseg/util/error.h"

namespace sarseg::data {

// Every setting that changes what is stored for a scene; the canonical text is part of each
// entry's key and header, so an entry made with other settings is never read.
struct StoreSettings {
  std::vector<std::string> bands;   // input bands, in model input-channel order
  std::vector<std::string> labels;  // the tasks' labels in task order (the first: crop criterion)
  int ignore_label = -1;
  bool physical_units = true;  // netCDF z-scores read back as dB / degrees
  // data.downsample: scenes are stored after io::downsample_scene by this factor (in the key only
  // when not 1, so that entries made before the setting stay valid).
  int64_t downsample = 1;
  std::string canonical() const;
};

// The training settings' view of a store: bands, the tasks' labels, data.ignore_label and units.
StoreSettings store_settings(const std::vector<std::string>& bands,
                             const std::vector<TaskSpec>& tasks, int ignore_label,
                             bool physical_units, int64_t downsample = 1);

// What identifies a scene file's content without reading it.
struct SceneFileIdentity {
  std::string path;  // absolute, lexically normal
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string canonical() const;
};
SceneFileIdentity scene_file_identity(const std::filesystem::path& file);

// A store entry that is unreadable: truncated, damaged, of another format version, or made for
// another file or other settings than its name says.
class StoreEntryDamaged : public UserError {
 public:
  using UserError::UserError;
};

// One entry opened for reading (a file descriptor; windows are read with pread, so nothing of the
// entry stays resident in the process). Safe to read from several threads and processes.
class StoredScene {
 public:
  struct BandInfo {
    std::string name, units;
    BandSums sums;
  };
  struct LabelInfo {
    std::string name;
    std::array<int64_t, 256> histogram{};  // of the label as read, before masking
  };

  // Opens `file` and checks its header (magic, version, checksum), its size and a sample of its
  // data; StoreEntryDamaged saying what is wrong otherwise.
  static std::shared_ptr<const StoredScene> open(const std::filesystem::path& file);
  ~StoredScene();
  StoredScene(const StoredScene&) = delete;
  StoredScene& operator=(const StoredScene&) = delete;

  const std::filesystem::path& file() const { return file_; }
  const std::string& id() const { return id_; }
  const std::string& source() const { return source_; }  // the scene file
  io::Season season() const { return season_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  const std::vector<BandInfo>& bands() const { return bands_; }
  const std::vector<LabelInfo>& labels() const { return labels_; }
  const std::string& settings() const { return settings_; }  // StoreSettings::canonical()
  const std::string& identity() const { return identity_; }  // SceneFileIdentity::canonical()

  // h x w window at (row, col) of a stored band (raw values, NaN = invalid) or target.
  void read_band(size_t band, float* dst, int64_t row, int64_t col, int64_t h, int64_t w) const;
  void read_target(size_t label, uint8_t* dst, int64_t row, int64_t col, int64_t h,
                   int64_t w) const;

 private:
  StoredScene() = default;
  void read_rows(uint64_t offset, size_t element, void* dst, int64_t row, int64_t col, int64_t h,
                 int64_t w) const;

  std::filesystem::path file_;
  int fd_ = -1;
  std::string id_, source_, settings_, identity_;
  io::Season season_ = io::Season::kUnknown;
  int64_t height_ = 0, width_ = 0;
  std::vector<BandInfo> bands_;
  std::vector<LabelInfo> labels_;
  std::vector<uint64_t> band_offsets_, label_offsets_;
};

// Writes the entry of `scene` atomically (temporary file + rename: concurrent writers of one
// entry each rename a complete file). UserError when the scene lacks a band or label.
void write_stored_scene(const std::filesystem::path& file, const io::Scene& scene,
                        const SceneFileIdentity& identity, const StoreSettings& settings);

// Where the entry of a scene file with these settings lives in `store`.
std::filesystem::path store_entry_path(const std::filesystem::path& store,
                                       const SceneFileIdentity& identity,
                                       const StoreSettings& settings);

// One scene handled by open_store, for a progress display.
struct StoreEvent {
  enum class Kind { kReused, kPrepared, kRebuilt };
  Kind kind = Kind::kReused;
  size_t index = 0, total = 0;  // this is scene index + 1 of total
  std::string scene;            // the scene file
  std::string detail;           // kRebuilt: why the old entry was not usable
  double seconds = 0;           // spent on this scene
};
using StoreProgress = std::function<void(const StoreEvent&)>;

struct StoreOptions {
  std::filesystem::path dir;    // empty: no store (scenes in memory)
  bool prepare_missing = true;  // false: a missing or damaged entry is a UserError
  StoreProgress progress;
};

// The entries of `scene_files` in `options.dir`: reused when present and sound, else prepared
// (read, checked against the settings' bands and labels, written) unless options.prepare_missing
// is false. `split` names the config key in messages.
std::vector<std::shared_ptr<const StoredScene>> open_store(
    const std::vector<std::filesystem::path>& scene_files, const StoreSettings& settings,
    const StoreOptions& options, const std::string& split);

// Checks each task's label values against its classes from the stored histograms (as
// check_scenes does for scenes in memory).
void check_stored_scenes(const std::vector<std::shared_ptr<const StoredScene>>& scenes,
                         const std::vector<TaskSpec>& tasks, int ignore_label,
                         const std::string& split);

// Per-scene sums of `bands` and the units of the first scene, for make_normalization.
std::vector<std::vector<BandSums>> stored_band_sums(
    const std::vector<std::shared_ptr<const StoredScene>>& scenes,
    const std::vector<std::string>& bands);
std::vector<std::string> stored_band_units(const StoredScene& scene,
                                           const std::vector<std::string>& bands);

// A stored scene read as model input: normalised with `normalization`, targets in task order.
// UserError when the entry lacks a band or label, or holds a band in other units.
class StoredSceneWindows : public SceneWindows {
 public:
  StoredSceneWindows(std::shared_ptr<const StoredScene> scene, const Normalization& normalization,
                     const std::vector<TaskSpec>& tasks);
  Shape shape() const override;
  void read_input(float* dst, int64_t row, int64_t col, int64_t h, int64_t w) const override;
  void read_target(int64_t task, uint8_t* dst, int64_t row, int64_t col, int64_t h,
                   int64_t w) const override;
  int64_t count_valid(int64_t row, int64_t col, int64_t h, int64_t w) const override;

 private:
  struct Channel {
    size_t band = 0;
    float mean = 0, inv_std = 1;
  };
  std::shared_ptr<const StoredScene> scene_;
  std::vector<Channel> channels_;
  std::vector<size_t> task_labels_;  // stored label index of each task
};

}  // namespace sarseg::data
