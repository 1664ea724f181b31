// Small string helpers used across modules.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sarseg {

std::vector<std::string> split(std::string_view text, char separator);
std::string join(const std::vector<std::string>& parts, std::string_view separator);
std::string trim(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);
bool ends_with(std::string_view text, std::string_view suffix);
std::string to_lower(std::string_view text);

// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

// Up to `max_count` candidates closest to `word` (by edit distance), closest first.
std::vector<std::string> closest_matches(std::string_view word,
                                         const std::vector<std::string>& candidates,
                                         size_t max_count = 3);

// Parses "HxW" or "N" (square) into height and width; throws UserError naming `what`.
std::pair<int, int> parse_size(std::string_view text, std::string_view what);

// Human-readable byte count ("1.5 GiB").
std::string format_bytes(double bytes);

// `text` with & < > " ' replaced by character references: safe in XML and HTML text and
// attribute values (QGIS styles, SVG charts, the report).
std::string escape_xml(std::string_view text);

}  // namespace sarseg
