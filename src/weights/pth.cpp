// PyTorch .pth files (torch.save zip format, PyTorch >= 1.6): <prefix>/data.pkl is the pickled
// state_dict, <prefix>/data/<key> the raw little-endian storages, <prefix>/version and
// optionally <prefix>/byteorder. Also read_weights(), which picks the reader.
#include <zip.h>

#include <cstring>
#include <fstream>
#include <memory>

#include "dtypes.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"
#include "sarseg/weights/state_dict.h"
#include "unpickler.h"

namespace fs = std::filesystem;

namespace sarseg::weights {
namespace {

using detail::PickleRef;
using detail::PickleValue;
using Kind = PickleValue::Kind;

// Keys under which training scripts commonly nest the model's state_dict.
const char* const kNestedKeys[] = {"state_dict", "model", "model_state_dict", "model_state"};

class ZipArchive {
 public:
  ZipArchive(const fs::path& path, const std::string& where) : where_(where) {
    std::error_code size_error;
    file_size_ = fs::file_size(path, size_error);
    if (size_error) file_size_ = 0;
    int error_code = 0;
    archive_ = zip_open(path.c_str(), ZIP_RDONLY, &error_code);
    if (!archive_) {
      zip_error_t error;
      zip_error_init_with_code(&error, error_code);
      const std::string reason = zip_error_strerror(&error);
      zip_error_fini(&error);
      throw UserError(where + " is not a readable zip archive (" + reason +
                      "); expected a torch.save file from PyTorch 1.6 or newer");
    }
  }
  ~ZipArchive() {
    if (archive_) zip_discard(archive_);
  }
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  std::vector<std::string> names() const {
    std::vector<std::string> result;
    const zip_int64_t count = zip_get_num_entries(archive_, 0);
    for (zip_int64_t i = 0; i < count; ++i)
      if (const char* name = zip_get_name(archive_, static_cast<zip_uint64_t>(i), 0))
        result.emplace_back(name);
    return result;
  }

  bool contains(const std::string& name) const {
    return zip_name_locate(archive_, name.c_str(), 0) >= 0;
  }

  // The entry's uncompressed size (UserError when it is missing).
  uint64_t entry_size(const std::string& name) const { return entry(name).size; }

  // The entry's uncompressed size, checked against `expected_size` (when >= 0) before reading, so
  // that a corrupt archive cannot make us allocate or inflate arbitrary amounts.
  void read(const std::string& name, int64_t expected_size, void* out,
            std::string* text = nullptr) const {
    const zip_stat_t stat = entry(name);
    if (expected_size >= 0) {
      require(stat.size == static_cast<zip_uint64_t>(expected_size),
              where_ + ": entry '" + name + "' has " + std::to_string(stat.size) +
                  " bytes but the pickle describes " + std::to_string(expected_size) +
                  "; the file is corrupt or truncated");
    } else {
      require(stat.size < (zip_uint64_t{1} << 32), where_ + ": entry '" + name + "' is too large");
      text->resize(stat.size);
      out = text->data();
    }
    zip_file_t* file = zip_fopen_index(archive_, stat.index, 0);
    require(file != nullptr,
            where_ + ": cannot open entry '" + name + "' (" + zip_strerror(archive_) + ")");
    const zip_int64_t got = stat.size ? zip_fread(file, out, stat.size) : 0;
    const std::string reason = got < 0 ? zip_file_strerror(file) : "";
    zip_fclose(file);
    require(got == static_cast<zip_int64_t>(stat.size),
            where_ + ": entry '" + name + "' is damaged or truncated" +
                (reason.empty() ? std::string() : " (" + reason + ")"));
  }

  std::string read_text(const std::string& name) const {
    std::string text;
    read(name, -1, nullptr, &text);
    return text;
  }

 private:
  // The entry's index and uncompressed size (UserError when it is missing or has no size).
  zip_stat_t entry(const std::string& name) const {
    const zip_int64_t index = zip_name_locate(archive_, name.c_str(), 0);
    require(index >= 0, where_ + " lacks the entry '" + name + "'; the archive is incomplete");
    zip_stat_t stat;
    zip_stat_init(&stat);
    require(zip_stat_index(archive_, static_cast<zip_uint64_t>(index), 0, &stat) == 0 &&
                (stat.valid & ZIP_STAT_SIZE) && (stat.valid & ZIP_STAT_COMP_SIZE),
            where_ + ": cannot read the size of entry '" + name + "'");
    // The sizes in the zip directory are claims: a few bytes may say 4 GB, and the entry is read
    // into a buffer of that size. Deflate expands at most 1032-fold; stored entries not at all.
    require(stat.comp_size <= file_size_ && stat.size <= stat.comp_size * 1032 + 64,
            where_ + ": entry '" + name + "' claims " + std::to_string(stat.size) + " bytes from " +
                std::to_string(stat.comp_size) + " compressed in a file of " +
                std::to_string(file_size_) + "; the archive is corrupt");
    stat.index = static_cast<zip_uint64_t>(index);
    return stat;
  }

  std::string where_;
  uint64_t file_size_ = 0;
  zip_t* archive_ = nullptr;
};

bool has_prefix_bytes(const fs::path& path, std::string_view magic) {
  std::ifstream stream(path, std::ios::binary);
  std::string head(magic.size(), '\0');
  stream.read(head.data(), static_cast<std::streamsize>(head.size()));
  return stream.gcount() == static_cast<std::streamsize>(magic.size()) && head == magic;
}

// The dict whose values are the tensors: the top level, or a nested "state_dict"/"model".
const PickleValue& state_dict_of(const PickleValue& top, const std::string& where) {
  require(top.kind == Kind::Dict, where + " does not hold a dict of tensors (a state_dict)");
  bool all_tensors = true;
  for (const auto& [key, value] : top.entries)
    all_tensors = all_tensors && value->kind == Kind::Tensor;
  if (all_tensors) return top;
  for (const char* nested : kNestedKeys) {
    for (const auto& [key, value] : top.entries) {
      if (key->kind == Kind::String && key->text == nested && value->kind == Kind::Dict)
        return state_dict_of(*value, where + " ['" + nested + "']");
    }
  }
  for (const auto& [key, value] : top.entries) {
    if (value->kind != Kind::Tensor) {
      const std::string name = key->kind == Kind::String ? key->text : std::string("?");
      throw UserError(where + ": entry '" + name +
                      "' is not a tensor and there is no nested 'state_dict' or 'model'; save "
                      "model.state_dict() instead");
    }
  }
  return top;
}

}  // namespace

StateDict read_pth(const fs::path& path) {
  const std::string where = "weights file '" + path.string() + "'";
  require(fs::is_regular_file(path), where + " does not exist or is not a file");
  if (has_prefix_bytes(path, std::string_view("\x80\x02\x8a\x0a", 4))) {
    throw UserError(where +
                    " uses the legacy torch.save format (before PyTorch 1.6); load it in "
                    "Python and save it again with a current PyTorch");
  }
  ZipArchive archive(path, where);

  // The record prefix is the directory holding data.pkl ("archive", or the file's stem).
  std::string prefix;
  for (const auto& name : archive.names()) {
    const auto slash = name.find('/');
    if (slash != std::string::npos && name.substr(slash) == "/data.pkl") {
      require(prefix.empty(), where + " holds more than one data.pkl");
      prefix = name.substr(0, slash + 1);
    }
  }
  require(!prefix.empty(), where + " has no <name>/data.pkl entry; it is not a torch.save file");
  if (archive.contains(prefix + "byteorder")) {
    const std::string order = trim(archive.read_text(prefix + "byteorder"));
    require(order == "little",
            where + " stores " + order + "-endian data; only little-endian files are supported");
  }
  if (archive.contains(prefix + "version")) {
    const std::string version = trim(archive.read_text(prefix + "version"));
    require(!version.empty() && version.find_first_not_of("0123456789") == std::string::npos,
            where + " has an unreadable format version '" + version + "'");
  }

  const std::string pickle = archive.read_text(prefix + "data.pkl");
  const detail::StorageLoader load_storage = [&](const std::string& key, torch::ScalarType type,
                                                 int64_t numel) {
    require(
        !key.empty() && key.find_first_of("/\\") == std::string::npos && key != "." && key != "..",
        where + ": invalid storage key '" + key + "'");
    // Checked against the entry's size before allocating: the pickle's numel is untrusted.
    const std::string entry = prefix + "data/" + key;
    const uint64_t size = archive.entry_size(entry);
    const uint64_t bytes = static_cast<uint64_t>(numel) * c10::elementSize(type);
    require(numel < (int64_t{1} << 48) && size == bytes,
            where + ": storage '" + key + "' has " + std::to_string(size) +
                " bytes but the pickle describes " + std::to_string(numel) + " elements of " +
                std::string(c10::toString(type)) + "; the file is corrupt or truncated");
    torch::Tensor storage = torch::empty({numel}, torch::TensorOptions().dtype(type));
    archive.read(entry, static_cast<int64_t>(bytes), storage.data_ptr());
    return storage;
  };
  const PickleRef top = detail::unpickle_state(pickle, load_storage, where);

  const PickleValue& dict = state_dict_of(*top, where);
  StateDict tensors;
  for (const auto& [key, value] : dict.entries) {
    require(key->kind == Kind::String, where + ": a state_dict key is not a string");
    tensors.emplace_back(key->text, value->tensor);
  }
  return tensors;
}

StateDict read_weights(const fs::path& path) {
  const std::string where = "weights file '" + path.string() + "'";
  require(fs::exists(path), where + " does not exist");
  require(fs::is_regular_file(path), where + " is not a regular file");
  const std::string extension = to_lower(path.extension().string());
  if (extension == ".safetensors") return read_safetensors(path);
  if (extension == ".pth" || extension == ".pt" || extension == ".bin" || extension == ".ckpt")
    return read_pth(path);
  // Unknown extension: decide by content. A zip is a torch.save file; safetensors starts with
  // its header length followed by '{'.
  if (has_prefix_bytes(path, "PK\x03\x04")) return read_pth(path);
  std::ifstream stream(path, std::ios::binary);
  char head[9] = {};
  stream.read(head, 9);
  if (stream.gcount() == 9 && head[8] == '{') return read_safetensors(path);
  throw UserError(where +
                  " is neither safetensors nor a torch.save zip; give a .safetensors or "
                  ".pth file");
}

}  // namespace sarseg::weights
