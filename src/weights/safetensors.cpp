// safetensors: 8-byte little-endian header length N, N bytes of JSON
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian tensor bytes (offsets relative to the start of that data).
// Every field is checked before any byte is copied: the file is untrusted input.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include "dtypes.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/weights/state_dict.h"

namespace fs = std::filesystem;

namespace sarseg::weights {
namespace detail {

namespace {
struct DtypeName {
  const char* name;
  torch::ScalarType type;
};
constexpr DtypeName kDtypes[] = {
    {"F64", torch::kFloat64},   {"F32", torch::kFloat32}, {"F16", torch::kFloat16},
    {"BF16", torch::kBFloat16}, {"I64", torch::kInt64},   {"I32", torch::kInt32},
    {"I16", torch::kInt16},     {"I8", torch::kInt8},     {"U8", torch::kUInt8},
    {"BOOL", torch::kBool},
};
}  // namespace

std::optional<torch::ScalarType> scalar_type_from_safetensors(const std::string& name) {
  for (const auto& entry : kDtypes)
    if (name == entry.name) return entry.type;
  return std::nullopt;
}

std::optional<std::string> safetensors_name(torch::ScalarType type) {
  for (const auto& entry : kDtypes)
    if (type == entry.type) return std::string(entry.name);
  return std::nullopt;
}

std::string shape_text(c10::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace detail

namespace {

static_assert(sizeof(size_t) == 8, "safetensors offsets need 64-bit sizes");

bool host_is_little_endian() {
  const uint16_t probe = 1;
  uint8_t first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

// Largest header accepted (the reference implementation's limit is 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct Entry {
  std::string name;
  torch::ScalarType type;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Reads a non-negative integer that fits int64 from a JSON value, or fails with `what`.
uint64_t json_count(const nlohmann::json& value, const std::string& what) {
  require(value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0),
          what);
  const uint64_t number = value.get<uint64_t>();
  require(number <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), what);
  return number;
}

Entry parse_entry(const std::string& name, const nlohmann::json& info, const std::string& where) {
  const std::string at = where + ": tensor '" + name + "'";
  require(info.is_object(),
          at + " is not a JSON object in the header; the file is not valid safetensors");
  Entry entry;
  entry.name = name;

  require(info.contains("dtype") && info["dtype"].is_string(),
          at + " has no dtype string; the file is not valid safetensors");
  const std::string dtype = info["dtype"].get<std::string>();
  const auto type = detail::scalar_type_from_safetensors(dtype);
  require(type.has_value(), at + " has unknown dtype '" + dtype +
                                "' (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
  entry.type = *type;

  require(info.contains("shape") && info["shape"].is_array(),
          at + " has no shape array; the file is not valid safetensors");
  uint64_t numel = 1;
  bool overflow = false;
  for (const auto& dim : info["shape"]) {
    const uint64_t size =
        json_count(dim, at + " has a shape entry that is not a non-negative integer");
    entry.shape.push_back(static_cast<int64_t>(size));
    if (size != 0 && numel > std::numeric_limits<uint64_t>::max() / size) overflow = true;
    numel *= size;
  }

  require(info.contains("data_offsets") && info["data_offsets"].is_array() &&
              info["data_offsets"].size() == 2,
          at + " has no data_offsets [begin, end]; the file is not valid safetensors");
  entry.begin = json_count(info["data_offsets"][0], at + " has an invalid begin offset");
  entry.end = json_count(info["data_offsets"][1], at + " has an invalid end offset");
  require(entry.begin <= entry.end, at + " has data_offsets [" + std::to_string(entry.begin) +
                                        ", " + std::to_string(entry.end) +
                                        "] with end before begin");

  const uint64_t element_size = c10::elementSize(entry.type);
  const bool fits = !overflow && numel <= std::numeric_limits<uint64_t>::max() / element_size;
  require(fits && numel * element_size == entry.end - entry.begin,
          at + " has shape " + detail::shape_text(entry.shape) + " and dtype " + dtype + " (" +
              (fits ? std::to_string(numel * element_size) : std::string("too many")) +
              " bytes) but data_offsets span " + std::to_string(entry.end - entry.begin) +
              " bytes");
  return entry;
}

}  // namespace

StateDict read_safetensors(const fs::path& path) {
  require(host_is_little_endian(), "safetensors reading needs a little-endian machine");
  const std::string where = "weights file '" + path.string() + "'";
  require(fs::is_regular_file(path), where + " does not exist or is not a file");
  const std::string bytes = read_file(path);

  require(bytes.size() >= 8, where + " is truncated: " + std::to_string(bytes.size()) +
                                 " bytes, less than the 8-byte safetensors header length");
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i)
    header_length = (header_length << 8) | static_cast<uint8_t>(bytes[i]);
  require(header_length <= bytes.size() - 8,
          where + " says its header is " + std::to_string(header_length) +
              " bytes but the file has only " + std::to_string(bytes.size() - 8) +
              " after the length field (truncated, or not a safetensors file)");
  require(header_length <= kMaxHeaderBytes,
          where + " has a header of " + std::to_string(header_length) + " bytes (limit 100 MB)");

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8,
                                   bytes.begin() + 8 + static_cast<long>(header_length));
  } catch (const nlohmann::json::exception& error) {
    throw UserError(where + " has an unreadable JSON header (" + std::string(error.what()) +
                    "); the file is not valid safetensors");
  }
  require(header.is_object(), where + ": the JSON header is not an object");

  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      require(info.is_object() || info.is_null(), where + ": __metadata__ is not an object");
      continue;
    }
    entries.push_back(parse_entry(name, info, where));
  }

  // The tensors must tile the data section exactly: no overlap, no gap, nothing beyond its end.
  const uint64_t data_size = bytes.size() - 8 - header_length;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const auto& entry : entries) {
    const std::string at = where + ": tensor '" + entry.name + "'";
    require(entry.end <= data_size, at + " has data_offsets [" + std::to_string(entry.begin) +
                                        ", " + std::to_string(entry.end) +
                                        "] beyond the end of the data (" +
                                        std::to_string(data_size) + " bytes; truncated file?)");
    require(entry.begin >= covered, at + " has data_offsets [" + std::to_string(entry.begin) +
                                        ", " + std::to_string(entry.end) +
                                        "] overlapping tensor '" +
                                        (previous ? previous->name : std::string()) +
                                        "' (which ends at " + std::to_string(covered) + ")");
    require(entry.begin == covered, at + " starts at byte " + std::to_string(entry.begin) +
                                        " but the previous tensor ends at " +
                                        std::to_string(covered) + " (gap in the data section)");
    covered = entry.end;
    previous = &entry;
  }
  require(covered == data_size, where + " has " + std::to_string(data_size - covered) +
                                    " bytes after its last tensor (not valid safetensors)");

  StateDict tensors;
  tensors.reserve(entries.size());
  const char* data = bytes.data() + 8 + header_length;
  for (const auto& entry : entries) {
    torch::Tensor tensor = torch::empty(entry.shape, torch::TensorOptions().dtype(entry.type));
    if (entry.end > entry.begin)
      std::memcpy(tensor.data_ptr(), data + entry.begin, entry.end - entry.begin);
    tensors.emplace_back(entry.name, std::move(tensor));
  }
  return tensors;
}

void write_safetensors(const fs::path& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata) {
  require(host_is_little_endian(), "safetensors writing needs a little-endian machine");
  nlohmann::ordered_json header;
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata)
      meta[key] = value;
    header["__metadata__"] = meta;
  }
  std::set<std::string> names;
  std::vector<torch::Tensor> contiguous;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    require(!name.empty() && name != "__metadata__",
            "cannot write '" + path.string() + "': invalid tensor name '" + name + "'");
    require(names.insert(name).second,
            "cannot write '" + path.string() + "': tensor name '" + name + "' appears twice");
    require(tensor.defined(),
            "cannot write '" + path.string() + "': tensor '" + name + "' is undefined");
    const auto dtype = detail::safetensors_name(tensor.scalar_type());
    require(dtype.has_value(), "cannot write '" + path.string() + "': tensor '" + name +
                                   "' has dtype " +
                                   std::string(c10::toString(tensor.scalar_type())) +
                                   ", which safetensors does not support");
    torch::Tensor data = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t size = data.numel() * data.element_size();
    header[name] = {{"dtype", *dtype},
                    {"shape", data.sizes().vec()},
                    {"data_offsets", {offset, offset + size}}};
    offset += size;
    contiguous.push_back(std::move(data));
  }
  std::string header_text = header.empty() ? std::string("{}") : header.dump();
  // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  AtomicOutput output(path);
  {
    std::ofstream stream(output.temp_path(), std::ios::binary | std::ios::trunc);
    require(static_cast<bool>(stream), "cannot write '" + path.string() + "'");
    uint64_t length = header_text.size();
    char length_bytes[8];
    for (int i = 0; i < 8; ++i)
      length_bytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
    stream.write(length_bytes, 8);
    stream.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
    for (const auto& data : contiguous)
      stream.write(static_cast<const char*>(data.data_ptr()),
                   static_cast<std::streamsize>(data.numel() * data.element_size()));
    stream.flush();
    require(static_cast<bool>(stream), "cannot write '" + path.string() + "': write failed");
  }
  output.commit();
}

}  // namespace sarseg::weights
