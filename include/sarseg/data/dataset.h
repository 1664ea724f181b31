// Scenes prepared for patch sampling: normalised input planes, per-task targets and the validity
// index used to accept crops.
//
//   auto scenes = data::read_scene_files(data::expand_scene_paths(entries, "data.train"), {});
//   data::check_scenes(scenes, bands, tasks, ignore_label, "data.train");
//   auto norm = data::make_normalization(method, pointers(scenes), bands);
//   std::vector<data::PreparedScene> prepared;
//   for (auto& s : scenes) prepared.push_back(data::prepare_scene(s, norm, tasks, ignore_label));
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sarseg/data/normalization.h"
#include "sarseg/data/task.h"
#include "sarseg/io/scene.h"
#include "sarseg/io/scene_io.h"

namespace sarseg::data {

// Scene files named by config entries: a scene file, or a list file (*.txt, *.list: one path per
// line, '#' comments, paths relative to the list's folder). UserError naming `key` for a missing
// file.
std::vector<std::filesystem::path> expand_scene_paths(const std::vector<std::string>& entries,
                                                      const std::string& key);
std::vector<io::Scene> read_scene_files(const std::vector<std::filesystem::path>& paths,
                                        const io::SceneReadOptions& options);

// Checks that every scene has each band and each task's label, and that label values are
// < classes, 255 or `ignore_label` (-1 = none). UserError naming the scene file, the band or
// label, the offending value and the config key to fix.
void check_scenes(const std::vector<io::Scene>& scenes, const std::vector<std::string>& bands,
                  const std::vector<TaskSpec>& tasks, int ignore_label, const std::string& split);

// Pixel counts of a mask with O(1) rectangle sums.
class ValidityIndex {
 public:
  ValidityIndex() = default;
  ValidityIndex(const std::vector<uint8_t>& mask, int64_t height, int64_t width);
  int64_t count(int64_t row, int64_t col, int64_t height, int64_t width) const;
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }

 private:
  int64_t height_ = 0, width_ = 0;
  std::vector<int64_t> sums_;  // (height+1) x (width+1) integral image
};

// A prepared scene read by window: what patch sampling, augmentation and the batch loader take.
// PreparedScene holds it in memory; data::StoredSceneWindows reads it from a scene store
// (data/scene_store.h). Reads are const and may run from several threads at once.
class SceneWindows {
 public:
  struct Shape {
    std::string id;
    int64_t height = 0, width = 0, channels = 0;
    int64_t tasks = 0;
  };
  virtual ~SceneWindows() = default;
  virtual Shape shape() const = 0;
  // channels x h x w normalised input of the window at (row, col), channel-major (invalid = 0);
  // the window lies inside the scene.
  virtual void read_input(float* dst, int64_t row, int64_t col, int64_t h, int64_t w) const = 0;
  // h x w target of task `task` (255 = ignore).
  virtual void read_target(int64_t task, uint8_t* dst, int64_t row, int64_t col, int64_t h,
                           int64_t w) const = 0;
  // Pixels of the window that pass the crop criterion (valid input and a first-task target).
  virtual int64_t count_valid(int64_t row, int64_t col, int64_t h, int64_t w) const = 0;
};

struct PreparedScene : SceneWindows {
  std::string id;
  std::string source;
  io::Season season = io::Season::kUnknown;
  int64_t height = 0, width = 0, channels = 0;
  std::vector<float> input;                   // channels x height x width, normalised, invalid = 0
  std::vector<std::vector<uint8_t>> targets;  // per task, height x width, 255 = ignore
  ValidityIndex sample_valid;  // valid input and a target for the first task (the crop criterion)

  Shape shape() const override;
  void read_input(float* dst, int64_t row, int64_t col, int64_t h, int64_t w) const override;
  void read_target(int64_t task, uint8_t* dst, int64_t row, int64_t col, int64_t h,
                   int64_t w) const override;
  int64_t count_valid(int64_t row, int64_t col, int64_t h, int64_t w) const override;
};

// Raw pointers to prepared scenes (the vector keeps them alive).
std::vector<const SceneWindows*> scene_pointers(const std::vector<PreparedScene>& scenes);

// Label value checks of check_scenes from a label's histogram (the store keeps histograms).
void check_label_values(const std::array<int64_t, 256>& histogram, const TaskSpec& task,
                        int ignore_label, const std::string& scene_name, const std::string& split);

// A task's target: the label, 255 where the input is invalid, unlabelled or `ignore_label`.
std::vector<uint8_t> masked_target(const std::vector<uint8_t>& label,
                                   const std::vector<uint8_t>& valid, int ignore_label);

PreparedScene prepare_scene(const io::Scene& scene, const Normalization& normalization,
                            const std::vector<TaskSpec>& tasks, int ignore_label);

// Copies of `scenes` with their dB bands speckle-filtered (io::filter_scene_bands); empty when
// `speckle` is none (use the scenes themselves).
std::vector<io::Scene> speckle_filtered(const std::vector<io::Scene>& scenes,
                                        const io::SpeckleFilterSpec& speckle);

// Copies of `scenes` downsampled by `factor` (io::downsample_scene, data.downsample); empty when
// factor is 1 (use the scenes themselves).
std::vector<io::Scene> downsampled(const std::vector<io::Scene>& scenes, int64_t factor);

}  // namespace sarseg::data
