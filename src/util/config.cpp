// Text conversions, YAML flattening and emitting for ConfigSchema (util/config.h).
#include "sarseg/util/config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>

#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::config {
namespace {

std::string unquote(const std::string& text) {
  std::string t = trim(text);
  if (t.size() >= 2 &&
      ((t.front() == '"' && t.back() == '"') || (t.front() == '\'' && t.back() == '\''))) {
    return t.substr(1, t.size() - 2);
  }
  return t;
}

// "[a, b]" or "a,b" -> {"a", "b"}; "" and "[]" -> {}.
std::vector<std::string> list_items(const std::string& text) {
  std::string t = trim(text);
  if (!t.empty() && t.front() == '[') {
    require(t.back() == ']', "unterminated list '" + text + "'");
    t = t.substr(1, t.size() - 2);
  }
  std::vector<std::string> items;
  if (trim(t).empty()) return items;
  for (const auto& part : split(t, ','))
    items.push_back(unquote(part));
  return items;
}

bool needs_quotes(const std::string& text) {
  if (text.empty()) return true;
  if (std::isspace(static_cast<unsigned char>(text.front())) ||
      std::isspace(static_cast<unsigned char>(text.back())))
    return true;
  static const std::string special = ":#{}[],&*!|>'\"%@`?";
  if (special.find(text.front()) != std::string::npos || text.front() == '-') {
    // A leading '-' is fine for numbers ("-1") but not for words ("- x").
    if (text.front() == '-' && text.size() > 1 &&
        (std::isdigit(static_cast<unsigned char>(text[1])) || text[1] == '.'))
      return false;
    return true;
  }
  return text.find(": ") != std::string::npos || text.find(" #") != std::string::npos ||
         text.find(',') != std::string::npos || text.find(':') != std::string::npos;
}

std::string yaml_scalar(const std::string& text) {
  if (!needs_quotes(text)) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

std::string yaml_list(const std::vector<std::string>& items) {
  std::string text = "[";
  for (size_t i = 0; i < items.size(); ++i)
    text += (i ? ", " : "") + yaml_scalar(items[i]);
  return text + "]";
}

void flatten_node(const YAML::Node& node, const std::string& prefix, const std::string& source,
                  std::vector<Setting>& out) {
  if (node.IsMap()) {
    for (const auto& item : node) {
      const std::string name = item.first.as<std::string>();
      flatten_node(item.second, prefix.empty() ? name : prefix + "." + name, source, out);
    }
  } else if (node.IsSequence()) {
    std::vector<std::string> items;
    for (const auto& element : node) {
      require(element.IsScalar(),
              "config key '" + prefix + "' in " + source + ": list elements must be plain values");
      items.push_back(element.as<std::string>());
    }
    out.push_back({prefix, yaml_list(items), source});
  } else if (node.IsNull()) {
    out.push_back({prefix, "", source});
  } else {
    out.push_back({prefix, node.as<std::string>(), source});
  }
}

template <typename Int>
Int parse_integer(const std::string& text, const std::string& where) {
  const std::string t = unquote(text);
  errno = 0;
  char* end = nullptr;
  long long value = std::strtoll(t.c_str(), &end, 10);
  require(!t.empty() && end == t.c_str() + t.size() && errno == 0,
          where + ": '" + text + "' is not an integer");
  if (std::is_unsigned<Int>::value)
    require(value >= 0, where + ": '" + text + "' must not be negative");
  const bool in_range = value < 0
                            ? value >= static_cast<long long>(std::numeric_limits<Int>::min())
                            : static_cast<unsigned long long>(value) <=
                                  static_cast<unsigned long long>(std::numeric_limits<Int>::max());
  require(in_range, where + ": '" + text + "' is out of range");
  return static_cast<Int>(value);
}

double parse_double(const std::string& text, const std::string& where) {
  const std::string t = unquote(text);
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(t.c_str(), &end);
  require(!t.empty() && end == t.c_str() + t.size() && errno != ERANGE,
          where + ": '" + text + "' is not a number");
  require(std::isfinite(value), where + ": '" + text + "' must be finite");
  return value;
}

}  // namespace

void parse_value(const std::string& text, const std::string& where, bool& out) {
  const std::string t = to_lower(unquote(text));
  if (t == "true" || t == "yes" || t == "on" || t == "1") {
    out = true;
  } else if (t == "false" || t == "no" || t == "off" || t == "0") {
    out = false;
  } else {
    throw UserError(where + ": '" + text + "' is not a boolean; use true or false");
  }
}
void parse_value(const std::string& text, const std::string& where, int& out) {
  out = parse_integer<int>(text, where);
}
void parse_value(const std::string& text, const std::string& where, int64_t& out) {
  out = parse_integer<int64_t>(text, where);
}
void parse_value(const std::string& text, const std::string& where, uint64_t& out) {
  out = parse_integer<uint64_t>(text, where);
}
void parse_value(const std::string& text, const std::string& where, double& out) {
  out = parse_double(text, where);
}
void parse_value(const std::string& text, const std::string& where, std::string& out) {
  out = unquote(text);
}
void parse_value(const std::string& text, const std::string& where, std::vector<int64_t>& out) {
  out.clear();
  for (const auto& item : list_items(text))
    out.push_back(parse_integer<int64_t>(item, where));
}
void parse_value(const std::string& text, const std::string& where, std::vector<double>& out) {
  out.clear();
  for (const auto& item : list_items(text))
    out.push_back(parse_double(item, where));
}
void parse_value(const std::string& text, const std::string& where, std::vector<std::string>& out) {
  out = list_items(text);
}

std::string format_value(bool value) {
  return value ? "true" : "false";
}
std::string format_value(int value) {
  return std::to_string(value);
}
std::string format_value(int64_t value) {
  return std::to_string(value);
}
std::string format_value(uint64_t value) {
  return std::to_string(value);
}
std::string format_value(double value) {
  for (int precision = 1; precision <= 17; ++precision) {
    std::ostringstream out;
    out.precision(precision);
    out << value;
    if (std::strtod(out.str().c_str(), nullptr) == value) return out.str();
  }
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}
std::string format_value(const std::string& value) {
  return value;
}
std::string format_value(const std::vector<int64_t>& value) {
  std::vector<std::string> items;
  for (auto v : value)
    items.push_back(format_value(v));
  return yaml_list(items);
}
std::string format_value(const std::vector<double>& value) {
  std::vector<std::string> items;
  for (auto v : value)
    items.push_back(format_value(v));
  return yaml_list(items);
}
std::string format_value(const std::vector<std::string>& value) {
  return yaml_list(value);
}

const char* type_name(const bool*) {
  return "bool";
}
const char* type_name(const int*) {
  return "int";
}
const char* type_name(const int64_t*) {
  return "int";
}
const char* type_name(const uint64_t*) {
  return "uint";
}
const char* type_name(const double*) {
  return "float";
}
const char* type_name(const std::string*) {
  return "string";
}
const char* type_name(const std::vector<int64_t>*) {
  return "list of int";
}
const char* type_name(const std::vector<double>*) {
  return "list of float";
}
const char* type_name(const std::vector<std::string>*) {
  return "list of string";
}

std::vector<Setting> flatten_yaml(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw UserError("config " + source + " is not valid YAML: " + e.what());
  }
  std::vector<Setting> settings;
  if (root.IsNull()) return settings;  // empty file
  require(root.IsMap(),
          "config " + source + " must be a YAML map of sections (section: {key: value})");
  flatten_node(root, "", source, settings);
  return settings;
}

Setting parse_assignment(const std::string& assignment, const std::string& source) {
  const auto equals = assignment.find('=');
  require(equals != std::string::npos && equals > 0,
          source + " '" + assignment + "': expected section.key=value");
  return {trim(assignment.substr(0, equals)), trim(assignment.substr(equals + 1)), source};
}

std::string emit_yaml(const std::vector<YamlEntry>& entries, const std::string& header_comment) {
  std::string text;
  for (const auto& line : split(header_comment, '\n'))
    if (!line.empty()) text += "# " + line + "\n";
  // Keys are grouped by their section in first-appearance order.
  std::vector<std::string> sections;
  std::map<std::string, std::vector<const YamlEntry*>> by_section;
  for (const auto& entry : entries) {
    const auto dot = entry.key.find('.');
    const std::string section = dot == std::string::npos ? "" : entry.key.substr(0, dot);
    if (!by_section.count(section)) sections.push_back(section);
    by_section[section].push_back(&entry);
  }
  for (const auto& section : sections) {
    const std::string indent = section.empty() ? "" : "  ";
    if (!section.empty()) text += section + ":\n";
    for (const auto* entry : by_section[section]) {
      const std::string name = section.empty() ? entry->key : entry->key.substr(section.size() + 1);
      const std::string value = (!entry->value.empty() && entry->value.front() == '[')
                                    ? entry->value
                                    : yaml_scalar(entry->value);
      text += indent + name + ": " + value;
      if (!entry->comment.empty()) text += "  # " + entry->comment;
      text += "\n";
    }
  }
  return text;
}

void throw_unknown_key(const std::string& key, const std::vector<std::string>& valid,
                       const std::string& source) {
  const auto close = closest_matches(key, valid, 3);
  std::string message = "unknown config key '" + key + "' (" + source + ")";
  if (!close.empty()) message += "; did you mean " + join(close, ", ") + "?";
  message += " ('sarseg train --help' lists every key)";
  throw UserError(message);
}

void check_choice(const std::string& value, const std::vector<std::string>& choices,
                  const std::string& where) {
  for (const auto& choice : choices)
    if (choice == value) return;
  throw UserError(where + ": '" + value + "' is not one of " + join(choices, ", "));
}

std::string read_config_text(const std::filesystem::path& path) {
  require(std::filesystem::is_regular_file(path),
          "config file " + path.string() + " does not exist or is not a file");
  return read_file(path);
}

}  // namespace sarseg::config
