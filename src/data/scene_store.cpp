#include "sarseg/data/scene_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "sarseg/io/downsample.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/sha256.h"
#include "sarseg/util/strings.h"

namespace fs = std::filesystem;

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the scene store writes its planes little-endian as they are in memory"
#endif

namespace sarseg::data {
namespace {

constexpr char kMagic[8] = {'S', 'A', 'R', 'S', 'E', 'G', 'S', 'S'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kPrefixBytes = 96;  // magic, version, JSON length, JSON SHA-256 (hex), reserved
constexpr uint64_t kAlignment = 4096;
constexpr size_t kSampleBlocks = 8;
constexpr size_t kSampleBlockBytes = 4096;
constexpr uint32_t kMaxHeaderBytes = 64u << 20;

uint64_t align_up(uint64_t value) {
  return (value + kAlignment - 1) / kAlignment * kAlignment;
}

std::string long_double_text(long double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%La", value);  // hexadecimal: exact round trip
  return text;
}

long double long_double_from(const std::string& text) {
  return std::strtold(text.c_str(), nullptr);
}

// Offsets of the sampled blocks of a plane of `bytes` bytes: evenly spread, first and last
// included.
std::vector<uint64_t> sample_offsets(uint64_t bytes) {
  std::vector<uint64_t> offsets;
  const uint64_t block = std::min<uint64_t>(kSampleBlockBytes, bytes);
  for (size_t k = 0; k < kSampleBlocks; ++k)
    offsets.push_back((bytes - block) * k / (kSampleBlocks - 1));
  return offsets;
}

std::string sample_checksum(const uint8_t* plane, uint64_t bytes) {
  const uint64_t block = std::min<uint64_t>(kSampleBlockBytes, bytes);
  std::string sampled;
  for (uint64_t offset : sample_offsets(bytes))
    sampled.append(reinterpret_cast<const char*>(plane + offset), block);
  return sha256_hex(sampled);
}

void pread_fully(int fd, void* dst, size_t bytes, uint64_t offset, const fs::path& file) {
  auto* out = static_cast<char*>(dst);
  while (bytes > 0) {
    const ssize_t got = ::pread(fd, out, bytes, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      throw StoreEntryDamaged("scene store entry " + file.string() + ": cannot read " +
                              std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
                              (got < 0 ? std::string(" (") + std::strerror(errno) + ")"
                                       : std::string(" (the file ends; it was truncated)")));
    out += got;
    bytes -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
}

std::string safe_stem(const fs::path& file) {
  std::string stem = file.stem().string();
  for (char& c : stem)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return stem.empty() ? "scene" : stem;
}

// 1 where the scene's mask is set and every input band is finite (as SceneNormalizer::valid).
std::vector<uint8_t> input_validity(const io::Scene& scene, const std::vector<std::string>& bands) {
  const size_t pixels = static_cast<size_t>(scene.height * scene.width);
  std::vector<uint8_t> valid(pixels, 1);
  if (!scene.valid.empty())
    for (size_t i = 0; i < pixels; ++i)
      valid[i] = scene.valid.data[i] != 0;
  for (const auto& name : bands) {
    const float* values = scene.band(name).pixels.data.data();
    for (size_t i = 0; i < pixels; ++i)
      if (!std::isfinite(values[i])) valid[i] = 0;
  }
  return valid;
}

}  // namespace

std::string StoreSettings::canonical() const {
  nlohmann::json j;  // keys sorted: the same text for the same settings
  j["bands"] = bands;
  j["labels"] = labels;
  j["ignore_label"] = ignore_label;
  j["physical_units"] = physical_units;
  j["format"] = kFormatVersion;
  if (downsample != 1) j["downsample"] = downsample;
  return j.dump();
}

StoreSettings store_settings(const std::vector<std::string>& bands,
                             const std::vector<TaskSpec>& tasks, int ignore_label,
                             bool physical_units, int64_t downsample) {
  StoreSettings settings;
  settings.bands = bands;
  for (const auto& task : tasks)
    settings.labels.push_back(task.label);
  settings.ignore_label = ignore_label;
  settings.physical_units = physical_units;
  settings.downsample = downsample;
  return settings;
}

std::string SceneFileIdentity::canonical() const {
  nlohmann::json j;
  j["path"] = path;
  j["size"] = size;
  j["mtime_ns"] = mtime_ns;
  return j.dump();
}

SceneFileIdentity scene_file_identity(const fs::path& file) {
  struct stat info {};
  require(::stat(file.c_str(), &info) == 0,
          "scene file " + file.string() + " cannot be read: " + std::strerror(errno));
  SceneFileIdentity identity;
  identity.path = fs::absolute(file).lexically_normal().string();
  identity.size = static_cast<uint64_t>(info.st_size);
  identity.mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000LL +
                      static_cast<int64_t>(info.st_mtim.tv_nsec);
  return identity;
}

fs::path store_entry_path(const fs::path& store, const SceneFileIdentity& identity,
                          const StoreSettings& settings) {
  const std::string key = sha256_hex(identity.canonical() + "\n" + settings.canonical());
  return store / (safe_stem(identity.path) + "-" + key.substr(0, 20) + ".scene");
}

void write_stored_scene(const fs::path& file, const io::Scene& scene,
                        const SceneFileIdentity& identity, const StoreSettings& settings) {
  const uint64_t pixels = static_cast<uint64_t>(scene.height * scene.width);
  const std::vector<uint8_t> valid = input_validity(scene, settings.bands);
  nlohmann::json header;
  header["identity"] = identity.canonical();
  header["settings"] = settings.canonical();
  header["scene"] = {{"id", scene.id},
                     {"source", scene.source_path},
                     {"season", io::to_string(scene.season)},
                     {"height", scene.height},
                     {"width", scene.width}};
  // Offsets first: the planes follow the header, each aligned to 4 KiB.
  struct Plane {
    std::string name;
    std::string type;
    uint64_t bytes = 0;
    uint64_t offset = 0;
  };
  std::vector<Plane> planes;
  for (const auto& name : settings.bands)
    planes.push_back({"band:" + name, "f32", pixels * sizeof(float), 0});
  for (const auto& name : settings.labels)
    planes.push_back({"target:" + name, "u8", pixels, 0});
  // The JSON's length depends on the offsets' digits: reserve room for it with a generous guess.
  nlohmann::json bands = nlohmann::json::array();
  for (const auto& name : settings.bands) {
    const io::Band& band = scene.band(name);
    const BandSums sums = band_sums(scene, name);
    bands.push_back({{"name", name},
                     {"units", band.units},
                     {"sum", long_double_text(sums.sum)},
                     {"sum_sq", long_double_text(sums.sum_sq)},
                     {"count", sums.count}});
  }
  header["bands"] = bands;
  nlohmann::json labels = nlohmann::json::array();
  for (const auto& name : settings.labels) {
    std::vector<int64_t> histogram(256, 0);
    for (uint8_t v : scene.labels.at(name).data)
      ++histogram[v];
    labels.push_back({{"name", name}, {"histogram", histogram}});
  }
  header["labels"] = labels;

  // Plane contents, one at a time (the scene is in memory already; one plane more at most).
  AtomicOutput output(file);
  std::ofstream out(output.temp_path(), std::ios::binary | std::ios::trunc);
  require(static_cast<bool>(out), "cannot write scene store entry " + output.temp_path().string());
  // Placeholder header room: the JSON without plane records is measured, and the plane records
  // (names, offsets, checksums) get a fixed 256 bytes each.
  const uint64_t data_start =
      align_up(kPrefixBytes + header.dump().size() + 256 * planes.size() + 1024);
  uint64_t offset = data_start;
  for (auto& plane : planes) {
    plane.offset = offset;
    offset = align_up(offset + plane.bytes);
  }
  const uint64_t file_bytes =
      planes.empty() ? data_start : planes.back().offset + planes.back().bytes;
  nlohmann::json plane_records = nlohmann::json::array();
  auto write_plane = [&](const Plane& plane, const uint8_t* bytes) {
    out.seekp(static_cast<std::streamoff>(plane.offset));
    out.write(reinterpret_cast<const char*>(bytes), static_cast<std::streamsize>(plane.bytes));
    plane_records.push_back({{"name", plane.name},
                             {"type", plane.type},
                             {"offset", plane.offset},
                             {"bytes", plane.bytes},
                             {"sample_sha256", sample_checksum(bytes, plane.bytes)}});
  };
  size_t index = 0;
  for (const auto& name : settings.bands) {
    const std::vector<float>& values = scene.band(name).pixels.data;
    std::vector<float> stored(values.size());
    for (size_t i = 0; i < values.size(); ++i)
      stored[i] = valid[i] ? values[i] : std::nanf("");
    write_plane(planes[index++], reinterpret_cast<const uint8_t*>(stored.data()));
  }
  for (const auto& name : settings.labels) {
    const std::vector<uint8_t> target =
        masked_target(scene.labels.at(name).data, valid, settings.ignore_label);
    write_plane(planes[index++], target.data());
  }
  header["planes"] = plane_records;
  header["file_bytes"] = file_bytes;
  const std::string json = header.dump();
  require(kPrefixBytes + json.size() <= data_start,
          "scene store entry header of " + scene.id + " is larger than its reserved room");
  std::string prefix(kPrefixBytes, '\0');
  std::memcpy(&prefix[0], kMagic, sizeof(kMagic));
  const uint32_t version = kFormatVersion;
  const uint32_t length = static_cast<uint32_t>(json.size());
  std::memcpy(&prefix[8], &version, 4);
  std::memcpy(&prefix[12], &length, 4);
  const std::string checksum = sha256_hex(json);
  std::memcpy(&prefix[16], checksum.data(), 64);
  out.seekp(0);
  out.write(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  out.write(json.data(), static_cast<std::streamsize>(json.size()));
  out.close();
  require(!out.fail(),
          "cannot write scene store entry " + output.temp_path().string() + " (disk full?)");
  fs::resize_file(output.temp_path(), file_bytes);  // exact, even when the last plane is empty
  output.commit();
}

std::shared_ptr<const StoredScene> StoredScene::open(const fs::path& file) {
  std::shared_ptr<StoredScene> scene(new StoredScene());
  scene->file_ = file;
  scene->fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  const std::string where = "scene store entry " + file.string();
  if (scene->fd_ < 0) throw StoreEntryDamaged(where + " cannot be opened: " + std::strerror(errno));
  // Windows are small and scattered: no read-ahead.
  ::posix_fadvise(scene->fd_, 0, 0, POSIX_FADV_RANDOM);
  struct stat info {};
  ::fstat(scene->fd_, &info);
  const uint64_t actual = static_cast<uint64_t>(info.st_size);
  if (actual < kPrefixBytes)
    throw StoreEntryDamaged(where + " is truncated (" + std::to_string(actual) + " bytes)");
  char prefix[kPrefixBytes];
  pread_fully(scene->fd_, prefix, kPrefixBytes, 0, file);
  if (std::memcmp(prefix, kMagic, sizeof(kMagic)) != 0)
    throw StoreEntryDamaged(where + " is not a sarseg scene store entry");
  uint32_t version = 0, length = 0;
  std::memcpy(&version, prefix + 8, 4);
  std::memcpy(&length, prefix + 12, 4);
  if (version != kFormatVersion)
    throw StoreEntryDamaged(where + " has format version " + std::to_string(version) +
                            ", this program reads version " + std::to_string(kFormatVersion));
  if (length > kMaxHeaderBytes || kPrefixBytes + length > actual)
    throw StoreEntryDamaged(where + " is damaged or truncated (header length " +
                            std::to_string(length) + ", file " + std::to_string(actual) +
                            " bytes)");
  std::string json(length, '\0');
  pread_fully(scene->fd_, &json[0], length, kPrefixBytes, file);
  if (sha256_hex(json) != std::string(prefix + 16, 64))
    throw StoreEntryDamaged(where + " is damaged (its header checksum does not match)");
  try {
    const auto header = nlohmann::json::parse(json);
    const uint64_t expected = header.at("file_bytes").get<uint64_t>();
    if (actual != expected)
      throw StoreEntryDamaged(where + " is truncated or damaged: " + std::to_string(actual) +
                              " bytes, its header says " + std::to_string(expected));
    scene->identity_ = header.at("identity").get<std::string>();
    scene->settings_ = header.at("settings").get<std::string>();
    const auto& info_json = header.at("scene");
    scene->id_ = info_json.at("id").get<std::string>();
    scene->source_ = info_json.at("source").get<std::string>();
    scene->season_ = io::parse_season(info_json.at("season").get<std::string>());
    scene->height_ = info_json.at("height").get<int64_t>();
    scene->width_ = info_json.at("width").get<int64_t>();
    for (const auto& band : header.at("bands")) {
      BandInfo b;
      b.name = band.at("name").get<std::string>();
      b.units = band.at("units").get<std::string>();
      b.sums.sum = long_double_from(band.at("sum").get<std::string>());
      b.sums.sum_sq = long_double_from(band.at("sum_sq").get<std::string>());
      b.sums.count = band.at("count").get<int64_t>();
      scene->bands_.push_back(b);
    }
    for (const auto& label : header.at("labels")) {
      LabelInfo l;
      l.name = label.at("name").get<std::string>();
      const auto histogram = label.at("histogram").get<std::vector<int64_t>>();
      if (histogram.size() != 256) throw StoreEntryDamaged(where + " has a malformed histogram");
      std::copy(histogram.begin(), histogram.end(), l.histogram.begin());
      scene->labels_.push_back(l);
    }
    const uint64_t pixels = static_cast<uint64_t>(scene->height_ * scene->width_);
    std::vector<uint8_t> block;
    for (const auto& plane : header.at("planes")) {
      const std::string name = plane.at("name").get<std::string>();
      const uint64_t offset = plane.at("offset").get<uint64_t>();
      const uint64_t bytes = plane.at("bytes").get<uint64_t>();
      const bool is_band = name.rfind("band:", 0) == 0;
      if (bytes != pixels * (is_band ? sizeof(float) : 1) || offset + bytes > actual)
        throw StoreEntryDamaged(where + " has a malformed plane record '" + name + "'");
      // The cheap data check: a SHA-256 of 8 blocks of 4 KiB spread over the plane.
      const uint64_t block_bytes = std::min<uint64_t>(kSampleBlockBytes, bytes);
      std::string sampled;
      block.resize(block_bytes);
      for (uint64_t at : sample_offsets(bytes)) {
        pread_fully(scene->fd_, block.data(), block_bytes, offset + at, file);
        sampled.append(reinterpret_cast<const char*>(block.data()), block_bytes);
      }
      if (sha256_hex(sampled) != plane.at("sample_sha256").get<std::string>())
        throw StoreEntryDamaged(where + " is damaged (the data of '" + name +
                                "' does not match its checksum)");
      (is_band ? scene->band_offsets_ : scene->label_offsets_).push_back(offset);
    }
    if (scene->band_offsets_.size() != scene->bands_.size() ||
        scene->label_offsets_.size() != scene->labels_.size())
      throw StoreEntryDamaged(where + " lists other planes than bands and labels");
  } catch (const nlohmann::json::exception& e) {
    throw StoreEntryDamaged(where + " has a malformed header (" + e.what() + ")");
  }
  return scene;
}

StoredScene::~StoredScene() {
  if (fd_ >= 0) ::close(fd_);
}

void StoredScene::read_rows(uint64_t offset, size_t element, void* dst, int64_t row, int64_t col,
                            int64_t h, int64_t w) const {
  if (row < 0 || col < 0 || h < 0 || w < 0 || row + h > height_ || col + w > width_)
    throw std::out_of_range("window outside stored scene " + id_);
  auto* out = static_cast<uint8_t*>(dst);
  if (col == 0 && w == width_) {  // whole rows: one read
    pread_fully(fd_, out, static_cast<size_t>(h * w) * element,
                offset + static_cast<uint64_t>(row * width_) * element, file_);
    return;
  }
  for (int64_t r = 0; r < h; ++r)
    pread_fully(fd_, out + static_cast<size_t>(r * w) * element, static_cast<size_t>(w) * element,
                offset + static_cast<uint64_t>((row + r) * width_ + col) * element, file_);
}

void StoredScene::read_band(size_t band, float* dst, int64_t row, int64_t col, int64_t h,
                            int64_t w) const {
  read_rows(band_offsets_.at(band), sizeof(float), dst, row, col, h, w);
}

void StoredScene::read_target(size_t label, uint8_t* dst, int64_t row, int64_t col, int64_t h,
                              int64_t w) const {
  read_rows(label_offsets_.at(label), 1, dst, row, col, h, w);
}

std::vector<std::shared_ptr<const StoredScene>> open_store(const std::vector<fs::path>& scene_files,
                                                           const StoreSettings& settings,
                                                           const StoreOptions& options,
                                                           const std::string& split) {
  require(!options.dir.empty(), split + ": no scene store directory given");
  if (options.prepare_missing) ensure_output_directory(options.dir);
  const std::string settings_text = settings.canonical();
  std::vector<std::shared_ptr<const StoredScene>> entries;
  for (size_t i = 0; i < scene_files.size(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    const fs::path& scene_file = scene_files[i];
    const SceneFileIdentity identity = scene_file_identity(scene_file);
    const fs::path entry_path = store_entry_path(options.dir, identity, settings);
    StoreEvent event;
    event.index = i + 1;
    event.total = scene_files.size();
    event.scene = scene_file.string();
    std::shared_ptr<const StoredScene> entry;
    std::string damaged;
    if (fs::exists(entry_path)) {
      try {
        entry = StoredScene::open(entry_path);
        // The name is a hash of both; a mismatch is a damaged or foreign file.
        if (entry->settings() != settings_text)
          throw StoreEntryDamaged("scene store entry " + entry_path.string() +
                                  " was made with other settings (" + entry->settings() + ")");
        if (entry->identity() != identity.canonical())
          throw StoreEntryDamaged("scene store entry " + entry_path.string() +
                                  " was made from another file (" + entry->identity() + ")");
      } catch (const StoreEntryDamaged& e) {
        entry.reset();
        damaged = e.what();
      }
    }
    if (!entry) {
      if (!options.prepare_missing) {
        if (!damaged.empty())
          throw UserError(split + ": " + damaged +
                          "; prepare it again (sarseg data prepare, or data.store_prepare=true)");
        // Entries of the same scene file under other keys: other settings or another version.
        size_t others = 0;
        const std::string prefix = safe_stem(identity.path) + "-";
        if (fs::is_directory(options.dir))
          for (const auto& item : fs::directory_iterator(options.dir))
            if (item.path().filename().string().rfind(prefix, 0) == 0) ++others;
        throw UserError(split + ": scene store " + options.dir.string() + " has no entry for " +
                        scene_file.string() + " with these settings " + settings_text +
                        (others > 0 ? " (it has " + std::to_string(others) +
                                          " of this scene made with other settings or from "
                                          "another version of the file)"
                                    : "") +
                        "; prepare it with `sarseg data prepare` or set data.store_prepare=true");
      }
      io::SceneReadOptions read;
      read.physical_units = settings.physical_units;
      read.derived_bands = settings.bands;  // prepared like the bands read
      std::vector<io::Scene> scene;
      scene.push_back(io::read_scene(scene_file, read));
      if (scene.back().source_path.empty()) scene.back().source_path = scene_file.string();
      if (settings.downsample > 1)
        scene.back() = io::downsample_scene(scene.back(), settings.downsample);
      // Bands and labels present; label values are checked per task from the histograms.
      std::vector<TaskSpec> presence;
      for (const auto& label : settings.labels)
        presence.push_back({label, 255, false, 1.0});
      check_scenes(scene, settings.bands, presence, settings.ignore_label, split);
      write_stored_scene(entry_path, scene.back(), identity, settings);
      scene.clear();
      entry = StoredScene::open(entry_path);
      event.kind = damaged.empty() ? StoreEvent::Kind::kPrepared : StoreEvent::Kind::kRebuilt;
      event.detail = damaged;
    }
    event.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    entries.push_back(entry);
    if (options.progress) options.progress(event);
  }
  return entries;
}

void check_stored_scenes(const std::vector<std::shared_ptr<const StoredScene>>& scenes,
                         const std::vector<TaskSpec>& tasks, int ignore_label,
                         const std::string& split) {
  for (const auto& scene : scenes) {
    for (const auto& task : tasks) {
      const auto& labels = scene->labels();
      const auto it = std::find_if(labels.begin(), labels.end(),
                                   [&](const auto& l) { return l.name == task.label; });
      require(it != labels.end(), split + ": scene store entry " + scene->file().string() +
                                      " has no label '" + task.label + "'");
      check_label_values(it->histogram, task, ignore_label, scene->source(), split);
    }
  }
}

namespace {
size_t band_index(const StoredScene& scene, const std::string& name) {
  const auto& bands = scene.bands();
  for (size_t b = 0; b < bands.size(); ++b)
    if (bands[b].name == name) return b;
  std::vector<std::string> names;
  for (const auto& band : bands)
    names.push_back(band.name);
  throw UserError("scene store entry " + scene.file().string() + " (" + scene.source() +
                  ") has no band '" + name + "'; it holds " + join(names, ", "));
}
}  // namespace

std::vector<std::vector<BandSums>> stored_band_sums(
    const std::vector<std::shared_ptr<const StoredScene>>& scenes,
    const std::vector<std::string>& bands) {
  std::vector<std::vector<BandSums>> sums;
  for (const auto& scene : scenes) {
    sums.emplace_back();
    for (const auto& name : bands)
      sums.back().push_back(scene->bands()[band_index(*scene, name)].sums);
  }
  return sums;
}

std::vector<std::string> stored_band_units(const StoredScene& scene,
                                           const std::vector<std::string>& bands) {
  std::vector<std::string> units;
  for (const auto& name : bands)
    units.push_back(scene.bands()[band_index(scene, name)].units);
  return units;
}

StoredSceneWindows::StoredSceneWindows(std::shared_ptr<const StoredScene> scene,
                                       const Normalization& normalization,
                                       const std::vector<TaskSpec>& tasks)
    : scene_(std::move(scene)) {
  const auto& names = normalization.bands;
  require(normalization.mean.size() == names.size() && normalization.std.size() == names.size(),
          "the normalisation lists " + std::to_string(names.size()) + " bands but " +
              std::to_string(normalization.mean.size()) + " means and " +
              std::to_string(normalization.std.size()) + " stds; the checkpoint is inconsistent");
  for (size_t c = 0; c < names.size(); ++c) {
    const size_t band = band_index(*scene_, names[c]);
    const std::string& units = scene_->bands()[band].units;
    const std::string wanted = c < normalization.units.size() ? normalization.units[c] : "";
    require(wanted.empty() || units.empty() || units == wanted,
            scene_->source() + " gives band '" + names[c] + "' in " + units +
                " but the model was trained on " + wanted +
                " values; set data.physical_units as the run was trained");
    const double sd = normalization.std[c];
    require(std::isfinite(sd) && sd > 0 && std::isfinite(normalization.mean[c]),
            "the normalisation of band '" + names[c] + "' has std " + std::to_string(sd) +
                "; a std must be positive (the checkpoint or statistics are damaged)");
    // The same float constants as SceneNormalizer, so that both give the same input.
    channels_.push_back(
        {band, static_cast<float>(normalization.mean[c]), static_cast<float>(1.0 / sd)});
  }
  const auto& labels = scene_->labels();
  for (const auto& task : tasks) {
    const auto it = std::find_if(labels.begin(), labels.end(),
                                 [&](const auto& l) { return l.name == task.label; });
    require(it != labels.end(),
            "scene store entry " + scene_->file().string() + " has no label '" + task.label + "'");
    task_labels_.push_back(static_cast<size_t>(it - labels.begin()));
  }
  // The crop criterion needs the first task's target to be the stored first label.
  require(task_labels_.empty() || task_labels_.front() == 0,
          "scene store entry " + scene_->file().string() +
              " was prepared with another first task label");
}

SceneWindows::Shape StoredSceneWindows::shape() const {
  return {scene_->id(), scene_->height(), scene_->width(), static_cast<int64_t>(channels_.size()),
          static_cast<int64_t>(task_labels_.size())};
}

void StoredSceneWindows::read_input(float* dst, int64_t row, int64_t col, int64_t h,
                                    int64_t w) const {
  for (size_t c = 0; c < channels_.size(); ++c) {
    float* plane = dst + c * static_cast<size_t>(h * w);
    scene_->read_band(channels_[c].band, plane, row, col, h, w);
    // Stored NaN = invalid input, so finiteness is the validity.
    SceneNormalizer::normalise_row(plane, plane, nullptr, h * w, channels_[c].mean,
                                   channels_[c].inv_std);
  }
}

void StoredSceneWindows::read_target(int64_t task, uint8_t* dst, int64_t row, int64_t col,
                                     int64_t h, int64_t w) const {
  scene_->read_target(task_labels_.at(static_cast<size_t>(task)), dst, row, col, h, w);
}

int64_t StoredSceneWindows::count_valid(int64_t row, int64_t col, int64_t h, int64_t w) const {
  int64_t count = 0;
  if (!task_labels_.empty()) {
    // Targets are 255 where the input is invalid: a target is the whole criterion.
    thread_local std::vector<uint8_t> target;
    target.resize(static_cast<size_t>(h * w));
    scene_->read_target(task_labels_.front(), target.data(), row, col, h, w);
    for (uint8_t v : target)
      count += v != io::kLabelFill;
    return count;
  }
  thread_local std::vector<float> values;
  values.resize(static_cast<size_t>(h * w));
  scene_->read_band(channels_.empty() ? 0 : channels_.front().band, values.data(), row, col, h, w);
  for (float v : values)
    count += std::isfinite(v);
  return count;
}

}  // namespace sarseg::data
