// Strict state_dict unpickler: see unpickler.h. Opcode values from CPython's Lib/pickle.py.
#include "unpickler.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_set>

#include "dtypes.h"
#include "sarseg/util/error.h"

namespace sarseg::weights::detail {
namespace {

using Kind = PickleValue::Kind;

// The only globals a state_dict pickle names. Storage classes only appear inside persistent ids.
const std::map<std::string, torch::ScalarType>& storage_types() {
  static const std::map<std::string, torch::ScalarType> types = {
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool},
  };
  return types;
}
constexpr const char* kOrderedDict = "collections.OrderedDict";
constexpr const char* kRebuildTensor = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";

bool allowed_global(const std::string& name) {
  return name == kOrderedDict || name == kRebuildTensor || name == kRebuildParameter ||
         storage_types().count(name) > 0;
}

PickleRef make(Kind kind) {
  auto value = std::make_shared<PickleValue>();
  value->kind = kind;
  return value;
}

class Unpickler {
 public:
  Unpickler(std::string_view bytes, const StorageLoader& load_storage, std::string where)
      : bytes_(bytes), load_storage_(load_storage), where_(std::move(where)) {}

  PickleRef run() {
    while (true) {
      const size_t opcode_position = position_;
      const uint8_t opcode = read_u8();
      switch (opcode) {
        case 0x80: {  // PROTO
          const uint8_t protocol = read_u8();
          check(protocol >= 2 && protocol <= 5,
                "pickle protocol " + std::to_string(protocol) + " is not supported");
          break;
        }
        case 0x95:  // FRAME: a length hint only
          read_bytes(8);
          break;
        case '.':  // STOP
          check(stack_.size() == 1 && marks_.empty(), "the pickle does not end with one value");
          return stack_.back();
        case '(':  // MARK
          marks_.push_back(stack_.size());
          break;
        case '0':  // POP
          pop();
          break;
        case 'N':  // NONE
          push(make(Kind::None));
          break;
        case 0x88:    // NEWTRUE
        case 0x89: {  // NEWFALSE
          auto value = make(Kind::Bool);
          value->boolean = opcode == 0x88;
          push(value);
          break;
        }
        case 'J':  // BININT
          push_int(static_cast<int32_t>(read_le(4)));
          break;
        case 'K':  // BININT1
          push_int(read_u8());
          break;
        case 'M':  // BININT2
          push_int(static_cast<int64_t>(read_le(2)));
          break;
        case 0x8a: {  // LONG1
          const uint8_t length = read_u8();
          check(length <= 8, "integer of " + std::to_string(length) + " bytes is too large");
          uint64_t raw = length ? read_le(length) : 0;
          if (length > 0 && length < 8 && (raw >> (8 * length - 1)) & 1)
            raw |= ~uint64_t{0} << (8 * length);  // sign-extend
          push_int(static_cast<int64_t>(raw));
          break;
        }
        case 'G': {  // BINFLOAT (big-endian)
          uint64_t raw = 0;
          for (int i = 0; i < 8; ++i)
            raw = (raw << 8) | read_u8();
          auto value = make(Kind::Float);
          std::memcpy(&value->real, &raw, 8);
          push(value);
          break;
        }
        case 'X':  // BINUNICODE
          push_string(read_bytes(read_le(4)));
          break;
        case 0x8c:  // SHORT_BINUNICODE
          push_string(read_bytes(read_u8()));
          break;
        case 0x8d:  // BINUNICODE8
          push_string(read_bytes(read_le(8)));
          break;
        case '}':  // EMPTY_DICT
          push(make(Kind::Dict));
          break;
        case ']':  // EMPTY_LIST
          push(make(Kind::List));
          break;
        case ')':  // EMPTY_TUPLE
          push(make(Kind::Tuple));
          break;
        case 't':    // TUPLE
        case 'l': {  // LIST
          auto value = make(opcode == 't' ? Kind::Tuple : Kind::List);
          value->items = pop_to_mark();
          push(value);
          break;
        }
        case 0x85:    // TUPLE1
        case 0x86:    // TUPLE2
        case 0x87: {  // TUPLE3
          auto value = make(Kind::Tuple);
          value->items.resize(opcode - 0x84);
          for (size_t i = value->items.size(); i-- > 0;)
            value->items[i] = pop();
          push(value);
          break;
        }
        case 'd': {  // DICT
          auto value = make(Kind::Dict);
          add_entries(*value, pop_to_mark());
          push(value);
          break;
        }
        case 'a': {  // APPEND
          auto item = pop();
          refuse_cycle(top(), {item});
          expect_kind(top(), Kind::List, "APPEND")->items.push_back(item);
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_to_mark();
          refuse_cycle(top(), items);
          auto& list = expect_kind(top(), Kind::List, "APPENDS")->items;
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        case 's': {  // SETITEM
          auto value = pop();
          auto key = pop();
          refuse_cycle(top(), {key, value});
          add_entries(*expect_kind(top(), Kind::Dict, "SETITEM"), {key, value});
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_to_mark();
          refuse_cycle(top(), items);
          add_entries(*expect_kind(top(), Kind::Dict, "SETITEMS"), items);
          break;
        }
        case 'q':  // BINPUT
          memo_[read_u8()] = top();
          break;
        case 'r':  // LONG_BINPUT
          memo_[read_le(4)] = top();
          break;
        case 0x94:  // MEMOIZE
          memo_[memo_.size()] = top();
          break;
        case 'h':  // BINGET
          push(memo_get(read_u8()));
          break;
        case 'j':  // LONG_BINGET
          push(memo_get(read_le(4)));
          break;
        case 'c': {  // GLOBAL "module\nname\n"
          const std::string module = read_line();
          const std::string name = read_line();
          push_global(module + "." + name);
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop();
          auto module = pop();
          check(module->kind == Kind::String && name->kind == Kind::String,
                "STACK_GLOBAL without module and name strings");
          push_global(module->text + "." + name->text);
          break;
        }
        case 'Q':  // BINPERSID
          push(persistent_load(pop()));
          break;
        case 'R': {  // REDUCE
          auto arguments = pop();
          auto callable = pop();
          push(reduce(callable, arguments));
          break;
        }
        case 'b': {  // BUILD
          auto state = pop();
          // Only OrderedDict state is accepted: state_dicts carry their `_metadata` (per-module
          // versions) this way. sarseg does not need it.
          auto target = top();
          check(target->kind == Kind::Dict && state->kind == Kind::Dict,
                "BUILD is only accepted on an OrderedDict (state_dict metadata)");
          break;
        }
        default: {
          char text[64];
          std::snprintf(text, sizeof text, "pickle opcode 0x%02x at byte %zu", opcode,
                        opcode_position);
          throw UserError("refused: " + where_ + ": " + text +
                          " is not one a PyTorch state_dict uses; the file is not a plain "
                          "state_dict (nothing was executed)");
        }
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw UserError(where_ + ": malformed state_dict pickle: " + problem + " (at byte " +
                    std::to_string(position_) + ")");
  }
  void check(bool condition, const std::string& problem) const {
    if (!condition) fail(problem);
  }

  uint8_t read_u8() {
    check(position_ < bytes_.size(), "unexpected end of data");
    return static_cast<uint8_t>(bytes_[position_++]);
  }
  uint64_t read_le(size_t count) {
    uint64_t value = 0;
    for (size_t i = 0; i < count; ++i)
      value |= static_cast<uint64_t>(read_u8()) << (8 * i);
    return value;
  }
  std::string read_bytes(uint64_t count) {
    check(count <= bytes_.size() - position_, "a string runs past the end of data");
    std::string text(bytes_.substr(position_, count));
    position_ += count;
    return text;
  }
  std::string read_line() {
    const size_t end = bytes_.find('\n', position_);
    check(end != std::string_view::npos && end - position_ < 256, "unterminated GLOBAL name");
    std::string line(bytes_.substr(position_, end - position_));
    position_ = end + 1;
    return line;
  }

  void push(PickleRef value) { stack_.push_back(std::move(value)); }
  void push_int(int64_t number) {
    auto value = make(Kind::Int);
    value->integer = number;
    push(value);
  }
  void push_string(std::string text) {
    auto value = make(Kind::String);
    value->text = std::move(text);
    push(value);
  }
  void push_global(const std::string& name) {
    if (!allowed_global(name)) {
      throw UserError("refused: " + where_ + " names global " + name +
                      ", which a PyTorch state_dict never contains; the file may be hostile "
                      "(nothing was executed)");
    }
    auto value = make(Kind::Global);
    value->text = name;
    push(value);
  }

  PickleRef pop() {
    check(!stack_.empty() && (marks_.empty() || stack_.size() > marks_.back()), "stack underflow");
    auto value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }
  const PickleRef& top() const {
    check(!stack_.empty() && (marks_.empty() || stack_.size() > marks_.back()), "stack underflow");
    return stack_.back();
  }
  std::vector<PickleRef> pop_to_mark() {
    check(!marks_.empty(), "no MARK before a multi-item opcode");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleRef> items(stack_.begin() + static_cast<long>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  PickleRef memo_get(uint64_t index) const {
    const auto found = memo_.find(index);
    check(found != memo_.end(), "memo entry " + std::to_string(index) + " used before it was set");
    return found->second;
  }
  const PickleRef& expect_kind(const PickleRef& value, Kind kind, const char* opcode) const {
    check(value->kind == kind, std::string(opcode) + " applied to the wrong kind of object");
    return value;
  }
  // A container that would hold itself (through the memo) is refused: no state_dict does that, and
  // the shared_ptr cycle would never be freed (found by fuzz_unpickler).
  void refuse_cycle(const PickleRef& container, const std::vector<PickleRef>& items) const {
    std::vector<const PickleValue*> pending;
    std::unordered_set<const PickleValue*> seen;
    for (const auto& item : items)
      pending.push_back(item.get());
    while (!pending.empty()) {
      const PickleValue* value = pending.back();
      pending.pop_back();
      check(value != container.get(), "a container refers to itself; not a state_dict pickle");
      if (!seen.insert(value).second) continue;
      for (const auto& item : value->items)
        pending.push_back(item.get());
      for (const auto& [key, item] : value->entries) {
        pending.push_back(key.get());
        pending.push_back(item.get());
      }
    }
  }
  void add_entries(PickleValue& dict, const std::vector<PickleRef>& items) {
    check(items.size() % 2 == 0, "odd number of items for a dict");
    for (size_t i = 0; i < items.size(); i += 2)
      dict.entries.emplace_back(items[i], items[i + 1]);
  }

  int64_t as_int(const PickleRef& value, const char* what) const {
    check(value->kind == Kind::Int, std::string(what) + " is not an integer");
    return value->integer;
  }
  std::vector<int64_t> as_int_tuple(const PickleRef& value, const char* what) const {
    check(value->kind == Kind::Tuple, std::string(what) + " is not a tuple");
    std::vector<int64_t> numbers;
    for (const auto& item : value->items)
      numbers.push_back(as_int(item, what));
    return numbers;
  }

  // ('storage', torch.FloatStorage, key, location, numel)
  PickleRef persistent_load(const PickleRef& id) {
    check(id->kind == Kind::Tuple && id->items.size() == 5 && id->items[0]->kind == Kind::String &&
              id->items[0]->text == "storage" && id->items[1]->kind == Kind::Global &&
              id->items[2]->kind == Kind::String && id->items[3]->kind == Kind::String,
          "persistent id is not ('storage', type, key, location, numel)");
    const auto type = storage_types().find(id->items[1]->text);
    check(type != storage_types().end(),
          "persistent id names " + id->items[1]->text + ", which is not a storage type");
    const int64_t numel = as_int(id->items[4], "storage size");
    check(numel >= 0, "negative storage size");
    const std::string& key = id->items[2]->text;
    auto found = storages_.find(key);
    if (found == storages_.end()) {
      auto value = make(Kind::Storage);
      value->tensor = load_storage_(key, type->second, numel);
      found = storages_.emplace(key, value).first;
    } else {
      check(found->second->tensor.scalar_type() == type->second &&
                found->second->tensor.numel() == numel,
            "storage '" + key + "' is used with two different types or sizes");
    }
    return found->second;
  }

  PickleRef reduce(const PickleRef& callable, const PickleRef& arguments) {
    check(callable->kind == Kind::Global, "REDUCE on something that is not a global");
    check(arguments->kind == Kind::Tuple, "REDUCE arguments are not a tuple");
    const std::string& name = callable->text;
    const auto& args = arguments->items;
    if (name == kOrderedDict) {
      check(args.empty(), "OrderedDict with constructor arguments");
      return make(Kind::Dict);
    }
    if (name == kRebuildTensor) {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      check(args.size() == 6 || args.size() == 7,
            "_rebuild_tensor_v2 with " + std::to_string(args.size()) + " arguments");
      check(args[0]->kind == Kind::Storage, "_rebuild_tensor_v2 without a storage");
      return rebuild_tensor(args[0]->tensor, as_int(args[1], "storage offset"),
                            as_int_tuple(args[2], "tensor size"),
                            as_int_tuple(args[3], "tensor stride"));
    }
    if (name == kRebuildParameter) {
      // (data, requires_grad, backward_hooks)
      check(args.size() == 3 && args[0]->kind == Kind::Tensor, "malformed _rebuild_parameter");
      return args[0];
    }
    fail("REDUCE on " + name + ", which builds nothing in a state_dict");
  }

  PickleRef rebuild_tensor(const torch::Tensor& storage, int64_t offset,
                           const std::vector<int64_t>& size, const std::vector<int64_t>& stride) {
    check(size.size() == stride.size(), "tensor size and stride differ in length");
    check(offset >= 0, "negative storage offset");
    // The furthest element the view touches must lie inside the storage.
    __int128 last = offset;  // wide enough for any 40-bit size times 40-bit stride sum
    int64_t numel = 1;
    bool empty = false;
    for (size_t i = 0; i < size.size(); ++i) {
      check(size[i] >= 0 && stride[i] >= 0, "negative tensor size or stride");
      check(size[i] < (int64_t{1} << 40) && stride[i] < (int64_t{1} << 40), "tensor too large");
      if (size[i] == 0) empty = true;
      last += (size[i] - 1) * stride[i];
      numel = std::min<int64_t>(numel * size[i], int64_t{1} << 40);
    }
    // Views that repeat elements (stride 0) could otherwise ask for any amount of memory.
    check(empty || numel <= std::max<int64_t>(storage.numel(), int64_t{1} << 26),
          "tensor view of size " + shape_text(size) + " is far larger than its storage");
    check(empty || last < storage.numel(),
          "tensor view of size " + shape_text(size) + " reaches element " +
              (last < (__int128{1} << 62) ? std::to_string(static_cast<int64_t>(last))
                                          : std::string("beyond 2^62")) +
              " of a storage with " + std::to_string(storage.numel()));
    auto value = make(Kind::Tensor);
    value->tensor = torch::empty(size, storage.options());
    if (!empty) value->tensor.copy_(storage.as_strided(size, stride, offset));
    return value;
  }

  std::string_view bytes_;
  const StorageLoader& load_storage_;
  std::string where_;
  size_t position_ = 0;
  std::vector<PickleRef> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, PickleRef> memo_;
  std::map<std::string, PickleRef> storages_;
};

}  // namespace

PickleRef unpickle_state(std::string_view bytes, const StorageLoader& load_storage,
                         const std::string& where) {
  return Unpickler(bytes, load_storage, where).run();
}

}  // namespace sarseg::weights::detail
