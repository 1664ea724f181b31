// Test helper: writes pickles and torch.save-style zip archives byte by byte, so tests can make
// .pth files exactly as PyTorch lays them out (and hostile ones that PyTorch would not).
#pragma once

#include <zip.h>

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "sarseg/weights/state_dict.h"

namespace sarseg::testing {

class PickleWriter {
 public:
  PickleWriter& proto(int version) { return op(0x80).byte(version); }
  PickleWriter& global(const std::string& module, const std::string& name) {
    bytes_ += 'c' + module + '\n' + name + '\n';
    return *this;
  }
  PickleWriter& stack_global(const std::string& module, const std::string& name) {
    return text(module).text(name).op(0x93);
  }
  PickleWriter& text(const std::string& value) {
    op('X');
    le(value.size(), 4);
    bytes_ += value;
    return *this;
  }
  PickleWriter& integer(int64_t value) {
    if (value >= 0 && value < 256) return op('K').byte(static_cast<int>(value));
    if (value >= INT32_MIN && value <= INT32_MAX) {
      op('J');
      return le(static_cast<uint32_t>(value), 4);
    }
    op(0x8a).byte(8);
    return le(static_cast<uint64_t>(value), 8);
  }
  PickleWriter& int_tuple(const std::vector<int64_t>& values) {
    mark();
    for (auto v : values)
      integer(v);
    return op('t');
  }
  PickleWriter& mark() { return op('('); }
  PickleWriter& put(int index) { return op('q').byte(index); }
  PickleWriter& op(int opcode) { return byte(opcode); }
  PickleWriter& byte(int value) {
    bytes_ += static_cast<char>(value);
    return *this;
  }
  PickleWriter& le(uint64_t value, int count) {
    for (int i = 0; i < count; ++i)
      bytes_ += static_cast<char>((value >> (8 * i)) & 0xff);
    return *this;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

inline const char* storage_class(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32:
      return "FloatStorage";
    case torch::kFloat64:
      return "DoubleStorage";
    case torch::kFloat16:
      return "HalfStorage";
    case torch::kBFloat16:
      return "BFloat16Storage";
    case torch::kInt64:
      return "LongStorage";
    case torch::kInt32:
      return "IntStorage";
    case torch::kInt16:
      return "ShortStorage";
    case torch::kInt8:
      return "CharStorage";
    case torch::kUInt8:
      return "ByteStorage";
    case torch::kBool:
      return "BoolStorage";
    default:
      throw std::runtime_error("no storage class");
  }
}

// The data.pkl that torch.save(state_dict) writes with protocol 2: an OrderedDict made by
// GLOBAL + EMPTY_TUPLE + REDUCE, items via SETITEMS, each tensor _rebuild_tensor_v2 over a
// persistent storage id ('storage', torch.XStorage, key, 'cpu', numel), then BUILD with
// {'_metadata': OrderedDict}. Storage i holds tensor i (contiguous).
inline std::string torch_save_pickle(const weights::StateDict& tensors) {
  PickleWriter p;
  p.proto(2).global("collections", "OrderedDict").put(0).op(')').op('R').put(1).mark();
  int key = 0;
  for (const auto& [name, tensor] : tensors) {
    p.text(name).global("torch._utils", "_rebuild_tensor_v2").mark();
    p.mark().text("storage").global("torch", storage_class(tensor.scalar_type()));
    p.text(std::to_string(key++)).text("cpu").integer(tensor.numel()).op('t').op('Q');
    std::vector<int64_t> stride(tensor.dim(), 1);
    for (int64_t d = tensor.dim() - 2; d >= 0; --d)
      stride[d] = stride[d + 1] * tensor.size(d + 1);
    p.integer(0).int_tuple(tensor.sizes().vec()).int_tuple(stride).op(0x89);
    p.global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
  }
  p.op('u');
  // state_dict._metadata = OrderedDict({'': {'version': 1}})
  p.op('}').text("_metadata").op('h').byte(0).op(')').op('R');
  p.mark().text("").op('}').text("version").integer(1).op('s').op('u').op('s').op('b').op('.');
  return p.bytes();
}

// Writes a zip with the given entries (stored, as torch.save does).
inline void write_zip(const std::filesystem::path& path,
                      const std::map<std::string, std::string>& entries) {
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (!archive) throw std::runtime_error("zip_open failed");
  for (const auto& [name, data] : entries) {
    zip_source_t* source = zip_source_buffer(archive, data.data(), data.size(), 0);
    const zip_int64_t index = zip_file_add(archive, name.c_str(), source, ZIP_FL_OVERWRITE);
    if (index < 0) throw std::runtime_error("zip_file_add failed");
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
  }
  if (zip_close(archive) != 0) throw std::runtime_error("zip_close failed");
}

// A .pth exactly as torch.save(state_dict) lays it out under the record prefix `prefix`.
inline void write_torch_save(const std::filesystem::path& path, const weights::StateDict& tensors,
                             const std::string& prefix = "archive") {
  std::map<std::string, std::string> entries;
  entries[prefix + "/data.pkl"] = torch_save_pickle(tensors);
  entries[prefix + "/version"] = "3\n";
  entries[prefix + "/byteorder"] = "little";
  int key = 0;
  for (const auto& [name, tensor] : tensors) {
    const torch::Tensor data = tensor.contiguous();
    entries[prefix + "/data/" + std::to_string(key++)] =
        std::string(static_cast<const char*>(data.data_ptr()), data.numel() * data.element_size());
  }
  write_zip(path, entries);
}

}  // namespace sarseg::testing
