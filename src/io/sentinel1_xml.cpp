#include "sentinel1_xml.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "sarseg/util/error.h"

namespace sarseg::io::s1::xml {
namespace {

[[noreturn]] void fail(const std::string& where, const pugi::xml_node& node,
                       const std::string& what) {
  throw UserError("Sentinel-1 file '" + where + "': element '" + path_of(node) + "' " + what);
}

// The name of the last element opened before `offset` (for messages about broken files).
std::string element_before(std::string_view bytes, size_t offset) {
  size_t at = std::min(offset, bytes.size());
  while (at > 0) {
    at = bytes.rfind('<', at - 1);
    if (at == std::string_view::npos) break;
    const size_t start = at + 1;
    if (start < bytes.size() &&
        (std::isalpha(static_cast<unsigned char>(bytes[start])) || bytes[start] == '_')) {
      size_t end = start;
      while (end < bytes.size() && bytes[end] != ' ' && bytes[end] != '>' && bytes[end] != '/' &&
             bytes[end] != '\n' && bytes[end] != '\t' && bytes[end] != '\r')
        ++end;
      return std::string(bytes.substr(start, end - start));
    }
    if (at == 0) break;
  }
  return "(start of file)";
}

}  // namespace

void parse(pugi::xml_document& document, std::string_view bytes, const std::string& where) {
  const pugi::xml_parse_result result =
      document.load_buffer(bytes.data(), bytes.size(), pugi::parse_default, pugi::encoding_auto);
  if (!result) {
    throw UserError("Sentinel-1 file '" + where + "': malformed XML (" + result.description() +
                    " at byte " + std::to_string(result.offset) + ", in element '" +
                    element_before(bytes, static_cast<size_t>(result.offset)) +
                    "'); the product is damaged");
  }
  if (!document.document_element()) {
    throw UserError("Sentinel-1 file '" + where + "': no root element; the product is damaged");
  }
}

std::string path_of(const pugi::xml_node& node) {
  return node.path('/');
}

pugi::xml_node child(const pugi::xml_node& node, const char* name, const std::string& where) {
  const pugi::xml_node found = node.child(name);
  if (!found) {
    throw UserError("Sentinel-1 file '" + where + "': element '" + path_of(node) + "/" + name +
                    "' is missing; the product is damaged or not a Sentinel-1 GRD product");
  }
  return found;
}

pugi::xml_node descend(const pugi::xml_node& node, const char* path, const std::string& where) {
  pugi::xml_node current = node;
  std::string rest(path);
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t slash = rest.find('/', start);
    const std::string name =
        rest.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    current = child(current, name.c_str(), where);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return current;
}

std::string text(const pugi::xml_node& node, const char* name, const std::string& where) {
  return child(node, name, where).child_value();
}

double number(const pugi::xml_node& node, const char* name, const std::string& where) {
  const pugi::xml_node element = child(node, name, where);
  const char* begin = element.child_value();
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(begin, &end);
  while (end && (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r'))
    ++end;
  if (end == begin || (end && *end != '\0') || errno == ERANGE || !std::isfinite(value)) {
    fail(where, element, "is not a number ('" + std::string(begin).substr(0, 40) + "')");
  }
  return value;
}

int64_t integer(const pugi::xml_node& node, const char* name, const std::string& where) {
  const double value = number(node, name, where);
  if (value != std::floor(value) || std::fabs(value) > 9.0e15) {
    fail(where, child(node, name, where), "is not an integer");
  }
  return static_cast<int64_t>(value);
}

std::vector<double> numbers(const pugi::xml_node& node, const char* name,
                            const std::string& where) {
  const pugi::xml_node element = child(node, name, where);
  std::vector<double> values;
  const char* cursor = element.child_value();
  while (true) {
    while (*cursor == ' ' || *cursor == '\n' || *cursor == '\t' || *cursor == '\r')
      ++cursor;
    if (*cursor == '\0') break;
    char* end = nullptr;
    const double value = std::strtod(cursor, &end);
    if (end == cursor || !std::isfinite(value)) {
      fail(where, element,
           "holds a value that is not a number at item " + std::to_string(values.size() + 1));
    }
    values.push_back(value);
    cursor = end;
  }
  if (values.empty()) fail(where, element, "is empty");
  const pugi::xml_attribute count = element.attribute("count");
  if (count && count.as_llong(-1) != static_cast<long long>(values.size())) {
    fail(where, element,
         "has " + std::to_string(values.size()) + " values but count=\"" + count.value() + "\"");
  }
  return values;
}

}  // namespace sarseg::io::s1::xml
