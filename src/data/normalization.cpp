#include "sarseg/data/normalization.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::data {
namespace {

struct Published {
  double mean;
  double std;
};

// AI4Arctic global_meanstd.npy (starter kit 4d5e3bc), raw physical units.
const std::map<std::string, Published>& published_statistics() {
  static const std::map<std::string, Published> table = {
      {"hh_db", {-14.5082551552228, 5.6597459193818676}},
      {"nersc_sar_primary", {-14.5082551552228, 5.6597459193818676}},
      {"hv_db", {-24.701205147144236, 4.746759305258515}},
      {"nersc_sar_secondary", {-24.701205147144236, 4.746759305258515}},
      {"incidence_deg", {33.99801788456536, 8.322267212079046}},
      {"sar_incidenceangle", {33.99801788456536, 8.322267212079046}},
      {"distance_map", {23.627669500714102, 14.99018630794473}},
  };
  return table;
}

}  // namespace

NormalizationMethod parse_normalization_method(const std::string& text, const std::string& where) {
  if (text == "training") return NormalizationMethod::kPooled;
  if (text == "training-scene-average") return NormalizationMethod::kSceneAverage;
  if (text == "ai4arctic") return NormalizationMethod::kAi4Arctic;
  if (text == "none") return NormalizationMethod::kNone;
  throw UserError(where + ": '" + text + "' is not one of " +
                  join(normalization_method_names(), ", "));
}

std::vector<std::string> normalization_method_names() {
  return {"training", "training-scene-average", "ai4arctic", "none"};
}

Normalization compute_normalization(const std::vector<const io::Scene*>& scenes,
                                    const std::vector<std::string>& bands,
                                    NormalizationMethod method) {
  require(!scenes.empty(), "cannot compute normalisation statistics: no training scenes");
  Normalization result;
  result.bands = bands;
  result.source = method == NormalizationMethod::kSceneAverage
                      ? "training statistics (average of per-scene mean and std)"
                      : "training statistics (pooled valid pixels)";
  for (const auto& name : bands) {
    // Pooled: long double sums over every valid pixel; scene average: per-scene mean/std averaged.
    long double sum = 0, sum_sq = 0;
    int64_t count = 0;
    double mean_of_means = 0, mean_of_stds = 0;
    int64_t scenes_used = 0;
    for (const io::Scene* scene : scenes) {
      const io::Band& band = scene->band(name);
      long double s = 0, s2 = 0;
      int64_t n = 0;
      for (int64_t i = 0; i < static_cast<int64_t>(band.pixels.data.size()); ++i) {
        const float v = band.pixels.data[static_cast<size_t>(i)];
        if (!std::isfinite(v)) continue;
        if (!scene->valid.empty() && scene->valid.data[static_cast<size_t>(i)] == 0) continue;
        s += v;
        s2 += static_cast<long double>(v) * v;
        ++n;
      }
      sum += s;
      sum_sq += s2;
      count += n;
      if (n > 0) {
        const long double m = s / n;
        mean_of_means += static_cast<double>(m);
        mean_of_stds += std::sqrt(std::max(0.0, static_cast<double>(s2 / n - m * m)));
        ++scenes_used;
      }
    }
    require(count > 0, "band '" + name + "' has no valid pixel in the training scenes");
    double mean, std;
    if (method == NormalizationMethod::kSceneAverage) {
      mean = mean_of_means / static_cast<double>(scenes_used);
      std = mean_of_stds / static_cast<double>(scenes_used);
    } else {
      const long double m = sum / count;
      mean = static_cast<double>(m);
      std = std::sqrt(std::max(0.0, static_cast<double>(sum_sq / count - m * m)));
    }
    require(std > 0.0, "band '" + name +
                           "' is constant over the training scenes; it cannot be z-scored "
                           "(drop it from data.bands or use data.normalization=none)");
    result.mean.push_back(mean);
    result.std.push_back(std);
  }
  return result;
}

Normalization ai4arctic_normalization(const std::vector<std::string>& bands) {
  Normalization result;
  result.bands = bands;
  result.source = "ai4arctic global statistics";
  const auto& table = published_statistics();
  for (const auto& name : bands) {
    const auto it = table.find(name);
    require(it != table.end(), "data.normalization=ai4arctic: no published statistics for band '" +
                                   name +
                                   "' (known: hh_db, hv_db, incidence_deg, distance_map); "
                                   "use data.normalization=training");
    result.mean.push_back(it->second.mean);
    result.std.push_back(it->second.std);
  }
  return result;
}

namespace {

Normalization statistics_for(NormalizationMethod method,
                             const std::vector<const io::Scene*>& scenes,
                             const std::vector<std::string>& bands) {
  switch (method) {
    case NormalizationMethod::kAi4Arctic:
      return ai4arctic_normalization(bands);
    case NormalizationMethod::kNone: {
      Normalization result;
      result.bands = bands;
      result.mean.assign(bands.size(), 0.0);
      result.std.assign(bands.size(), 1.0);
      result.source = "none";
      return result;
    }
    default:
      return compute_normalization(scenes, bands, method);
  }
}

}  // namespace

Normalization make_normalization(NormalizationMethod method,
                                 const std::vector<const io::Scene*>& scenes,
                                 const std::vector<std::string>& bands) {
  auto result = statistics_for(method, scenes, bands);
  if (!scenes.empty()) {
    result.units.clear();
    for (const auto& name : bands) {
      const io::Band* band = scenes.front()->find_band(name);
      result.units.push_back(band != nullptr ? band->units : "");
    }
  }
  return result;
}

bool wants_physical_units(const Normalization& normalization) {
  for (const auto& unit : normalization.units)
    if (!unit.empty() && unit != "zscore") return true;
  return false;
}

std::string normalization_to_json(const Normalization& normalization) {
  nlohmann::json j;
  j["bands"] = normalization.bands;
  j["mean"] = normalization.mean;
  j["std"] = normalization.std;
  j["source"] = normalization.source;
  if (!normalization.units.empty()) j["units"] = normalization.units;
  return j.dump();
}

Normalization normalization_from_json(const std::string& text, const std::string& where) {
  Normalization result;
  try {
    const auto j = nlohmann::json::parse(text);
    result.bands = j.at("bands").get<std::vector<std::string>>();
    result.mean = j.at("mean").get<std::vector<double>>();
    result.std = j.at("std").get<std::vector<double>>();
    result.source = j.value("source", "");
    if (j.contains("units")) result.units = j.at("units").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw UserError(where + ": malformed normalisation record (" + e.what() + ")");
  }
  require(result.bands.size() == result.mean.size() && result.bands.size() == result.std.size(),
          where + ": normalisation record has mismatched band/mean/std counts");
  require(result.units.empty() || result.units.size() == result.bands.size(),
          where + ": normalisation record has " + std::to_string(result.units.size()) +
              " units for " + std::to_string(result.bands.size()) + " bands");
  return result;
}

}  // namespace sarseg::data
