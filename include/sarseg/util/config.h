// Typed configuration from YAML files and `--set section.key=value` overrides.
//
// A ConfigSchema<Root> is a registry of keys over one plain struct (the single source of defaults):
// each key has a dotted name, a help line, its default (read from a default-constructed Root) and
// a setter/getter that convert between text and the typed field.
//
//   struct Optim { double lr = 1e-5; };
//   struct Config { Optim optim; };
//   ConfigSchema<Config> schema;
//   schema.add("optim.lr", [](Config& c) -> auto& { return c.optim.lr; }, "learning rate");
//   Config config;
//   schema.load_yaml_file(config, "train.yaml");        // unknown keys: UserError naming the
//   schema.apply_overrides(config, {"optim.lr=3e-4"});  //   closest valid keys
//   write(schema.to_yaml(config));                      // the resolved config, with help comments
//
// Another module extends a schema by wrapping its struct and including this schema under it:
//   struct Study { Config train; Extra experiment; };
//   ConfigSchema<Study> study; study.include(schema, [](Study& s) -> auto& { return s.train; });
//   study.add("experiment.seeds", ...);
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace sarseg::config {

// Text <-> value conversions for the field types a schema can hold. `where` names the key and
// its source for error messages ("optim.lr in train.yaml").
void parse_value(const std::string& text, const std::string& where, bool& out);
void parse_value(const std::string& text, const std::string& where, int& out);
void parse_value(const std::string& text, const std::string& where, int64_t& out);
void parse_value(const std::string& text, const std::string& where, uint64_t& out);
void parse_value(const std::string& text, const std::string& where, double& out);
void parse_value(const std::string& text, const std::string& where, std::string& out);
void parse_value(const std::string& text, const std::string& where, std::vector<int64_t>& out);
void parse_value(const std::string& text, const std::string& where, std::vector<double>& out);
void parse_value(const std::string& text, const std::string& where, std::vector<std::string>& out);

std::string format_value(bool value);
std::string format_value(int value);
std::string format_value(int64_t value);
std::string format_value(uint64_t value);
std::string format_value(double value);  // shortest text that reads back to the same double
std::string format_value(const std::string& value);
std::string format_value(const std::vector<int64_t>& value);  // "[1, 2]"
std::string format_value(const std::vector<double>& value);
std::string format_value(const std::vector<std::string>& value);

const char* type_name(const bool*);
const char* type_name(const int*);
const char* type_name(const int64_t*);
const char* type_name(const uint64_t*);
const char* type_name(const double*);
const char* type_name(const std::string*);
const char* type_name(const std::vector<int64_t>*);
const char* type_name(const std::vector<double>*);
const char* type_name(const std::vector<std::string>*);

// One key = value setting and where it came from ("train.yaml", "--set").
struct Setting {
  std::string key;
  std::string value;
  std::string source;
};

// Nested YAML maps become dotted keys; sequences become "[a, b]" lists. UserError naming `source`
// for malformed YAML or a document that is not a map.
std::vector<Setting> flatten_yaml(const std::string& yaml_text, const std::string& source);
// "section.key=value" -> Setting; UserError naming `source` (e.g. "--set") otherwise.
Setting parse_assignment(const std::string& assignment, const std::string& source);

struct YamlEntry {
  std::string key;  // dotted
  std::string value;
  std::string comment;
};
// YAML text, nested by the dotted key sections, values quoted where YAML needs it.
std::string emit_yaml(const std::vector<YamlEntry>& entries, const std::string& header_comment);

// UserError: "unknown config key 'K' (in SOURCE); did you mean A, B or C? ...".
[[noreturn]] void throw_unknown_key(const std::string& key, const std::vector<std::string>& valid,
                                    const std::string& source);
// UserError when `value` is not one of `choices`.
void check_choice(const std::string& value, const std::vector<std::string>& choices,
                  const std::string& where);
// Reads a config file; UserError naming it when unreadable.
std::string read_config_text(const std::filesystem::path& path);

template <typename Root>
class ConfigSchema {
 public:
  struct Key {
    std::string name;  // dotted, e.g. "optim.lr"
    std::string type;
    std::string help;
    std::string default_text;
    std::vector<std::string> choices;  // allowed values (strings and string lists), empty = any
    std::function<void(Root&, const std::string& text, const std::string& where)> set;
    std::function<std::string(const Root&)> get;
  };

  // `field` maps a Root& to the field's reference, e.g. [](Root& r) -> auto& { return r.a.b; }.
  template <typename Accessor>
  ConfigSchema& add(const std::string& name, Accessor field, const std::string& help,
                    std::vector<std::string> choices = {}) {
    using T = std::remove_reference_t<decltype(field(std::declval<Root&>()))>;
    Key key;
    key.name = name;
    key.type = type_name(static_cast<const T*>(nullptr));
    key.help = help;
    key.choices = std::move(choices);
    const auto allowed = key.choices;
    key.set = [field, allowed](Root& root, const std::string& text, const std::string& where) {
      T value{};
      parse_value(text, where, value);
      if (!allowed.empty()) check_values(value, allowed, where);
      field(root) = std::move(value);
    };
    key.get = [field](const Root& root) { return format_value(field(const_cast<Root&>(root))); };
    const Root defaults{};
    key.default_text = key.get(defaults);
    push(std::move(key));
    return *this;
  }

  // Every key of `other`, reached through `to_sub` (Root& -> Sub&).
  template <typename Sub, typename Accessor>
  ConfigSchema& include(const ConfigSchema<Sub>& other, Accessor to_sub) {
    for (const auto& sub_key : other.keys()) {
      Key key;
      key.name = sub_key.name;
      key.type = sub_key.type;
      key.help = sub_key.help;
      key.default_text = sub_key.default_text;
      key.choices = sub_key.choices;
      auto set = sub_key.set;
      auto get = sub_key.get;
      key.set = [set, to_sub](Root& root, const std::string& text, const std::string& where) {
        set(to_sub(root), text, where);
      };
      key.get = [get, to_sub](const Root& root) { return get(to_sub(const_cast<Root&>(root))); };
      push(std::move(key));
    }
    for (const auto& check : other.checks_) {
      checks_.push_back(
          [check, to_sub](const Root& root) { check(to_sub(const_cast<Root&>(root))); });
    }
    return *this;
  }

  // A whole-config check run by validate() (e.g. cross-key consistency); throws UserError.
  ConfigSchema& add_check(std::function<void(const Root&)> check) {
    checks_.push_back(std::move(check));
    return *this;
  }

  const std::vector<Key>& keys() const { return keys_; }
  std::vector<std::string> key_names() const {
    std::vector<std::string> names;
    for (const auto& key : keys_)
      names.push_back(key.name);
    return names;
  }
  const Key* find(const std::string& name) const {
    for (const auto& key : keys_)
      if (key.name == name) return &key;
    return nullptr;
  }

  void set(Root& root, const Setting& setting) const {
    const Key* key = find(setting.key);
    if (!key) throw_unknown_key(setting.key, key_names(), setting.source);
    key->set(root, setting.value, setting.key + " (" + setting.source + ")");
  }
  std::string get(const Root& root, const std::string& name) const {
    const Key* key = find(name);
    if (!key) throw_unknown_key(name, key_names(), "lookup");
    return key->get(root);
  }

  void load_yaml_text(Root& root, const std::string& text, const std::string& source) const {
    for (const auto& setting : flatten_yaml(text, source))
      set(root, setting);
  }
  void load_yaml_file(Root& root, const std::filesystem::path& path) const {
    load_yaml_text(root, read_config_text(path), path.string());
  }
  void apply_overrides(Root& root, const std::vector<std::string>& assignments,
                       const std::string& source = "--set") const {
    for (const auto& assignment : assignments)
      set(root, parse_assignment(assignment, source));
  }
  void validate(const Root& root) const {
    for (const auto& check : checks_)
      check(root);
  }

  // The resolved configuration as YAML, one comment per key with its help text.
  std::string to_yaml(const Root& root, const std::string& header_comment = "") const {
    std::vector<YamlEntry> entries;
    for (const auto& key : keys_)
      entries.push_back({key.name, key.get(root), key.help});
    return emit_yaml(entries, header_comment);
  }

  // A Markdown table of every key: name, type, default, help and choices (docs/config.md).
  std::string markdown_table() const {
    std::string text = "| key | type | default | meaning |\n|---|---|---|---|\n";
    for (const auto& key : keys_) {
      std::string help = key.help;
      if (!key.choices.empty()) {
        help += " (";
        for (size_t i = 0; i < key.choices.size(); ++i)
          help += (i ? ", " : "") + key.choices[i];
        help += ")";
      }
      std::string shown = key.default_text.empty() ? "\"\"" : key.default_text;
      for (std::string* cell : {&help, &shown}) {
        std::string escaped;
        for (char c : *cell)
          escaped += c == '|' ? std::string("\\|") : std::string(1, c);
        *cell = escaped;
      }
      text += "| `" + key.name + "` | " + key.type + " | `" + shown + "` | " + help + " |\n";
    }
    return text;
  }

  // "  name = default   help" lines for --help.
  std::string help_text() const {
    size_t width = 0;
    for (const auto& key : keys_)
      width = std::max(width, key.name.size() + 3 + key.default_text.size());
    std::string text;
    for (const auto& key : keys_) {
      std::string left = key.name + " = " + key.default_text;
      left.resize(std::max(width, left.size()) + 2, ' ');
      std::string help = key.help;
      if (!key.choices.empty()) {
        help += " (";
        for (size_t i = 0; i < key.choices.size(); ++i)
          help += (i ? "|" : "") + key.choices[i];
        help += ")";
      }
      text += "  " + left + help + "\n";
    }
    return text;
  }

 private:
  template <typename T>
  friend class ConfigSchema;

  static void check_values(const std::string& value, const std::vector<std::string>& choices,
                           const std::string& where) {
    check_choice(value, choices, where);
  }
  static void check_values(const std::vector<std::string>& values,
                           const std::vector<std::string>& choices, const std::string& where) {
    for (const auto& value : values)
      check_choice(value, choices, where);
  }
  template <typename T>
  static void check_values(const T&, const std::vector<std::string>&, const std::string&) {}

  void push(Key key) {
    for (auto& existing : keys_) {
      if (existing.name == key.name) {  // a later registration replaces the earlier one
        existing = std::move(key);
        return;
      }
    }
    keys_.push_back(std::move(key));
  }

  std::vector<Key> keys_;
  std::vector<std::function<void(const Root&)>> checks_;
};

}  // namespace sarseg::config
