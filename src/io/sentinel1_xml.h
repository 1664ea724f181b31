// Private: pugixml helpers for the Sentinel-1 readers. Every failure is a UserError naming the
// file (`where`) and the element path.
#pragma once

#include <pugixml.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sarseg::io::s1::xml {

// Parses `bytes` (any size, not NUL-terminated); UserError "file 'X': malformed XML (...)".
void parse(pugi::xml_document& document, std::string_view bytes, const std::string& where);

// The element path of `node` ("/calibration/calibrationVectorList/...").
std::string path_of(const pugi::xml_node& node);

// The first child element `name` of `node`; UserError naming where and the missing element.
pugi::xml_node child(const pugi::xml_node& node, const char* name, const std::string& where);
// Descends a slash-separated path of child elements ("imageAnnotation/imageInformation").
pugi::xml_node descend(const pugi::xml_node& node, const char* path, const std::string& where);

std::string text(const pugi::xml_node& node, const char* name, const std::string& where);
double number(const pugi::xml_node& node, const char* name, const std::string& where);
int64_t integer(const pugi::xml_node& node, const char* name, const std::string& where);
// A whitespace-separated list of numbers; its `count` attribute, when present, must match.
std::vector<double> numbers(const pugi::xml_node& node, const char* name, const std::string& where);

}  // namespace sarseg::io::s1::xml
