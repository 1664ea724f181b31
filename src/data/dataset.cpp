#include "sarseg/data/dataset.h"

#include <array>
#include <cstring>

#include "sarseg/io/downsample.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/log.h"
#include "sarseg/util/strings.h"

namespace fs = std::filesystem;

namespace sarseg::data {
namespace {

bool is_list_file(const fs::path& path) {
  const std::string ext = to_lower(path.extension().string());
  return ext == ".txt" || ext == ".list";
}

std::string scene_name(const io::Scene& scene) {
  return scene.source_path.empty() ? "scene '" + scene.id + "'" : scene.source_path;
}

}  // namespace

std::vector<fs::path> expand_scene_paths(const std::vector<std::string>& entries,
                                         const std::string& key) {
  std::vector<fs::path> paths;
  for (const auto& entry : entries) {
    const fs::path path(entry);
    require(fs::exists(path), key + ": scene or list file '" + entry + "' does not exist");
    if (!is_list_file(path)) {
      paths.push_back(path);
      continue;
    }
    const auto lines = split(read_file(path), '\n');
    const size_t before = paths.size();
    for (const auto& raw : lines) {
      const std::string line = trim(raw.substr(0, raw.find('#')));
      if (line.empty()) continue;
      fs::path listed(line);
      if (listed.is_relative()) listed = path.parent_path() / listed;
      require(fs::exists(listed), key + ": scene '" + line + "' listed in " + entry +
                                      " does not exist (paths are relative to the list's folder)");
      paths.push_back(listed);
    }
    require(paths.size() > before,
            key + ": scene list '" + entry + "' names no scene; put one scene path per line");
  }
  return paths;
}

std::vector<io::Scene> read_scene_files(const std::vector<fs::path>& paths,
                                        const io::SceneReadOptions& options) {
  std::vector<io::Scene> scenes;
  for (const auto& path : paths) {
    scenes.push_back(io::read_scene(path, options));
    if (scenes.back().source_path.empty()) scenes.back().source_path = path.string();
  }
  return scenes;
}

void check_scenes(const std::vector<io::Scene>& scenes, const std::vector<std::string>& bands,
                  const std::vector<TaskSpec>& tasks, int ignore_label, const std::string& split) {
  for (const auto& scene : scenes) {
    scene.check_consistent();
    for (const auto& band : bands) {
      require(scene.find_band(band) != nullptr,
              scene_name(scene) + " (" + split + ") has no band '" + band + "' (it has " +
                  join(scene.band_names(), ", ") + "); fix data.bands or the scene list");
    }
    for (const auto& task : tasks) {
      const auto it = scene.labels.find(task.label);
      if (it == scene.labels.end()) {
        std::vector<std::string> names;
        for (const auto& [name, raster] : scene.labels)
          names.push_back(name);
        throw UserError(scene_name(scene) + " (" + split + ") has no label '" + task.label +
                        "' (it has " + (names.empty() ? "none" : join(names, ", ")) +
                        "); fix data.tasks or the scene list");
      }
      std::array<int64_t, 256> histogram{};
      for (uint8_t v : it->second.data)
        ++histogram[v];
      check_label_values(histogram, task, ignore_label, scene_name(scene), split);
    }
  }
}

void check_label_values(const std::array<int64_t, 256>& histogram, const TaskSpec& task,
                        int ignore_label, const std::string& scene_name, const std::string& split) {
  for (int value = static_cast<int>(task.classes); value < 255; ++value) {
    if (histogram[static_cast<size_t>(value)] == 0 || value == ignore_label) continue;
    throw UserError(scene_name + " (" + split + "): label '" + task.label + "' has value " +
                    std::to_string(value) + " in " +
                    std::to_string(histogram[static_cast<size_t>(value)]) +
                    " pixels but the task has " + std::to_string(task.classes) + " classes (0.." +
                    std::to_string(task.classes - 1) +
                    ", 255 = no label); fix data.tasks or set data.ignore_label");
  }
}

std::vector<const SceneWindows*> scene_pointers(const std::vector<PreparedScene>& scenes) {
  std::vector<const SceneWindows*> out;
  for (const auto& scene : scenes)
    out.push_back(&scene);
  return out;
}

SceneWindows::Shape PreparedScene::shape() const {
  return {id, height, width, channels, static_cast<int64_t>(targets.size())};
}

void PreparedScene::read_input(float* dst, int64_t row, int64_t col, int64_t h, int64_t w) const {
  const size_t plane = static_cast<size_t>(height * width);
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t r = 0; r < h; ++r)
      std::memcpy(dst + static_cast<size_t>((c * h + r) * w),
                  input.data() + static_cast<size_t>(c) * plane +
                      static_cast<size_t>((row + r) * width + col),
                  static_cast<size_t>(w) * sizeof(float));
}

void PreparedScene::read_target(int64_t task, uint8_t* dst, int64_t row, int64_t col, int64_t h,
                                int64_t w) const {
  const auto& target = targets[static_cast<size_t>(task)];
  for (int64_t r = 0; r < h; ++r)
    std::memcpy(dst + static_cast<size_t>(r * w),
                target.data() + static_cast<size_t>((row + r) * width + col),
                static_cast<size_t>(w));
}

int64_t PreparedScene::count_valid(int64_t row, int64_t col, int64_t h, int64_t w) const {
  return sample_valid.count(row, col, h, w);
}

ValidityIndex::ValidityIndex(const std::vector<uint8_t>& mask, int64_t height, int64_t width)
    : height_(height), width_(width), sums_(static_cast<size_t>((height + 1) * (width + 1)), 0) {
  const int64_t stride = width + 1;
  for (int64_t r = 0; r < height; ++r) {
    int64_t row_sum = 0;
    for (int64_t c = 0; c < width; ++c) {
      row_sum += mask[static_cast<size_t>(r * width + c)] ? 1 : 0;
      sums_[static_cast<size_t>((r + 1) * stride + c + 1)] =
          sums_[static_cast<size_t>(r * stride + c + 1)] + row_sum;
    }
  }
}

int64_t ValidityIndex::count(int64_t row, int64_t col, int64_t height, int64_t width) const {
  const int64_t stride = width_ + 1;
  const int64_t r1 = row + height, c1 = col + width;
  return sums_[static_cast<size_t>(r1 * stride + c1)] -
         sums_[static_cast<size_t>(row * stride + c1)] -
         sums_[static_cast<size_t>(r1 * stride + col)] +
         sums_[static_cast<size_t>(row * stride + col)];
}

std::vector<uint8_t> masked_target(const std::vector<uint8_t>& label,
                                   const std::vector<uint8_t>& valid, int ignore_label) {
  std::vector<uint8_t> target(label.size());
  for (size_t i = 0; i < label.size(); ++i) {
    const uint8_t v = label[i];
    target[i] = (!valid[i] || v == io::kLabelFill || static_cast<int>(v) == ignore_label)
                    ? io::kLabelFill
                    : v;
  }
  return target;
}

PreparedScene prepare_scene(const io::Scene& scene, const Normalization& normalization,
                            const std::vector<TaskSpec>& tasks, int ignore_label) {
  PreparedScene out;
  out.id = scene.id;
  out.source = scene.source_path;
  out.season = scene.season;
  out.height = scene.height;
  out.width = scene.width;
  out.channels = static_cast<int64_t>(normalization.bands.size());
  const size_t pixels = static_cast<size_t>(scene.height * scene.width);
  const SceneNormalizer normalizer(scene, normalization);
  out.input.resize(pixels * static_cast<size_t>(out.channels));
  normalizer.window(out.input.data(), 0, 0, scene.height, scene.width);
  const std::vector<uint8_t>& valid = normalizer.valid().data;
  for (const auto& task : tasks) {
    out.targets.push_back(masked_target(scene.labels.at(task.label).data, valid, ignore_label));
  }
  std::vector<uint8_t> sample_mask(pixels);
  for (size_t i = 0; i < pixels; ++i)
    sample_mask[i] = valid[i] && (out.targets.empty() || out.targets[0][i] != io::kLabelFill);
  out.sample_valid = ValidityIndex(sample_mask, scene.height, scene.width);
  return out;
}

std::vector<io::Scene> speckle_filtered(const std::vector<io::Scene>& scenes,
                                        const io::SpeckleFilterSpec& speckle) {
  std::vector<io::Scene> out;
  if (!speckle.active()) return out;
  out.reserve(scenes.size());
  for (const auto& scene : scenes) {
    out.push_back(scene);
    io::filter_scene_bands(out.back(), speckle);
  }
  return out;
}

std::vector<io::Scene> downsampled(const std::vector<io::Scene>& scenes, int64_t factor) {
  std::vector<io::Scene> out;
  if (factor == 1) return out;
  out.reserve(scenes.size());
  for (const auto& scene : scenes)
    out.push_back(io::downsample_scene(scene, factor));
  return out;
}

}  // namespace sarseg::data
