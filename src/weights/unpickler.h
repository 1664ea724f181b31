// Internal: a strict unpickler for PyTorch state_dict pickles (data.pkl inside a .pth zip).
//
// It understands only the opcodes and the handful of globals that torch.save emits for a
// state_dict (OrderedDict of tensors, possibly nested in a plain dict with numbers and strings).
// A global outside the allow-list (os.system, builtins.eval, ...) or any other opcode is refused
// with a UserError. No Python object is ever constructed from a name, so nothing is executed.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sarseg::weights::detail {

struct PickleValue;
using PickleRef = std::shared_ptr<PickleValue>;

struct PickleValue {
  enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;                                      // String; Global: "module.name"
  std::vector<PickleRef> items;                          // Tuple, List
  std::vector<std::pair<PickleRef, PickleRef>> entries;  // Dict (insertion order)
  torch::Tensor tensor;                                  // Storage (flat), Tensor
};

// Returns the flat storage `key` of `numel` elements of type `type` (from <prefix>/data/<key>).
using StorageLoader =
    std::function<torch::Tensor(const std::string& key, torch::ScalarType type, int64_t numel)>;

// Unpickles `bytes`; `where` names the file in error messages.
PickleRef unpickle_state(std::string_view bytes, const StorageLoader& load_storage,
                         const std::string& where);

}  // namespace sarseg::weights::detail
