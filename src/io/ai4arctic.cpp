#include "sarseg/io/ai4arctic.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sarseg/util/error.h"
#include "sarseg/util/log.h"

namespace sarseg::io {
namespace detail {
extern const char* const kEmbeddedAi4ArcticStats;
}

namespace {

constexpr const char* kStatsFileName = "ai4arctic_global_meanstd.json";

std::map<std::string, MeanStd> parse_stats(const std::string& text, const std::string& where) {
  std::map<std::string, MeanStd> stats;
  try {
    const auto json = nlohmann::json::parse(text);
    const auto& variables = json.contains("variables") ? json.at("variables") : json;
    for (const auto& [name, entry] : variables.items()) {
      MeanStd value{entry.at("mean").get<double>(), entry.at("std").get<double>()};
      require(value.std > 0, where + ": variable '" + name + "' has std <= 0");
      stats[name] = value;
    }
  } catch (const nlohmann::json::exception& e) {
    throw UserError(where + " is not a valid statistics file (" + e.what() + ")");
  }
  require(stats.count("nersc_sar_primary") && stats.count("nersc_sar_secondary") &&
              stats.count("sar_incidenceangle"),
          where + " lacks nersc_sar_primary, nersc_sar_secondary or sar_incidenceangle");
  return stats;
}

struct LoadedStats {
  std::map<std::string, MeanStd> stats;
  std::string source;
};

const LoadedStats& loaded_stats() {
  static const LoadedStats loaded = [] {
    std::vector<std::filesystem::path> candidates;
    if (const char* env = std::getenv("SARSEG_DATA_DIR")) candidates.emplace_back(env);
#ifdef SARSEG_DATA_DIR
    candidates.emplace_back(SARSEG_DATA_DIR);
#endif
    for (const auto& dir : candidates) {
      const auto path = dir / kStatsFileName;
      std::ifstream stream(path);
      if (!stream) continue;
      std::stringstream text;
      text << stream.rdbuf();
      return LoadedStats{parse_stats(text.str(), "'" + path.string() + "'"), path.string()};
    }
    return LoadedStats{parse_stats(detail::kEmbeddedAi4ArcticStats, "built-in statistics"),
                       std::string("built-in copy of data/") + kStatsFileName};
  }();
  return loaded;
}

}  // namespace

const std::map<std::string, MeanStd>& ai4arctic_global_stats() {
  return loaded_stats().stats;
}
const std::string& ai4arctic_stats_source() {
  return loaded_stats().source;
}

const std::vector<Ai4ArcticBand>& ai4arctic_bands() {
  static const std::vector<Ai4ArcticBand> bands = {
      {"nersc_sar_primary", "hh_db", "dB"},
      {"nersc_sar_secondary", "hv_db", "dB"},
      {"sar_incidenceangle", "incidence_deg", "deg"},
      {"distance_map", "distance_map", "raw"},
  };
  return bands;
}

std::optional<Ai4ArcticBand> ai4arctic_band(std::string_view band_or_variable) {
  for (const auto& b : ai4arctic_bands()) {
    if (b.band == band_or_variable || b.variable == band_or_variable) return b;
  }
  return std::nullopt;
}

std::optional<MeanStd> ai4arctic_band_stats(std::string_view band_or_variable) {
  std::string variable(band_or_variable);
  if (auto b = ai4arctic_band(band_or_variable)) variable = std::string(b->variable);
  const auto& stats = ai4arctic_global_stats();
  const auto it = stats.find(variable);
  if (it == stats.end()) return std::nullopt;
  return it->second;
}

}  // namespace sarseg::io
