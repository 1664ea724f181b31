#include "sarseg/data/normalization.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "sarseg/io/derived_bands.h"
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

BandSums band_sums(const io::Scene& scene, const std::string& name) {
  const io::Band& band = scene.band(name);
  // long double sums over every valid pixel, so that pooled statistics of many scenes keep their
  // precision.
  BandSums sums;
  for (int64_t i = 0; i < static_cast<int64_t>(band.pixels.data.size()); ++i) {
    const float v = band.pixels.data[static_cast<size_t>(i)];
    if (!std::isfinite(v)) continue;
    if (!scene.valid.empty() && scene.valid.data[static_cast<size_t>(i)] == 0) continue;
    sums.sum += v;
    sums.sum_sq += static_cast<long double>(v) * v;
    ++sums.count;
  }
  return sums;
}

Normalization normalization_from_sums(const std::vector<std::vector<BandSums>>& sums,
                                      const std::vector<std::string>& bands,
                                      NormalizationMethod method) {
  require(!sums.empty(), "cannot compute normalisation statistics: no training scenes");
  Normalization result;
  result.bands = bands;
  result.source = method == NormalizationMethod::kSceneAverage
                      ? "training statistics (average of per-scene mean and std)"
                      : "training statistics (pooled valid pixels)";
  for (size_t b = 0; b < bands.size(); ++b) {
    const std::string& name = bands[b];
    // Pooled: the sums over every scene; scene average: per-scene mean/std averaged.
    long double sum = 0, sum_sq = 0;
    int64_t count = 0;
    double mean_of_means = 0, mean_of_stds = 0;
    int64_t scenes_used = 0;
    for (const auto& scene : sums) {
      const BandSums& band = scene.at(b);
      sum += band.sum;
      sum_sq += band.sum_sq;
      count += band.count;
      if (band.count > 0) {
        const long double m = band.sum / band.count;
        mean_of_means += static_cast<double>(m);
        mean_of_stds +=
            std::sqrt(std::max(0.0, static_cast<double>(band.sum_sq / band.count - m * m)));
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

Normalization compute_normalization(const std::vector<const io::Scene*>& scenes,
                                    const std::vector<std::string>& bands,
                                    NormalizationMethod method) {
  require(!scenes.empty(), "cannot compute normalisation statistics: no training scenes");
  std::vector<std::vector<BandSums>> sums;
  for (const io::Scene* scene : scenes) {
    sums.emplace_back();
    for (const auto& name : bands)
      sums.back().push_back(band_sums(*scene, name));
  }
  return normalization_from_sums(sums, bands, method);
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

// The methods that need no scene: published or none; null for the computed ones.
std::optional<Normalization> fixed_statistics(NormalizationMethod method,
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
      return std::nullopt;
  }
}

Normalization statistics_for(NormalizationMethod method,
                             const std::vector<const io::Scene*>& scenes,
                             const std::vector<std::string>& bands) {
  if (auto fixed = fixed_statistics(method, bands)) return *fixed;
  return compute_normalization(scenes, bands, method);
}

}  // namespace

namespace {

// Bands that reading derived as z-scores with published statistics or as exact encodings
// (io/derived_bands.h: 2 km grids, month, position): every method takes them as they are (mean 0,
// std 1), so that a band constant over the training scenes (the month of a one-month set) or
// without AI4Arctic statistics of its own (latitude) still trains.
bool is_derived_zscore(const std::string& name, const std::string& unit) {
  return unit == "zscore" && io::is_derived_band_name(name);
}

// `compute` gives the statistics of the other bands; the derived ones are put in at mean 0, std 1.
template <typename Compute>
Normalization with_derived_bands(const std::vector<std::string>& bands,
                                 const std::vector<std::string>& units, Compute compute) {
  std::vector<std::string> others;
  for (size_t b = 0; b < bands.size(); ++b)
    if (!(b < units.size() && is_derived_zscore(bands[b], units[b]))) others.push_back(bands[b]);
  if (others.size() == bands.size()) return compute(bands);
  const Normalization computed = compute(others);
  Normalization result = computed;
  result.bands = bands;
  result.mean.clear();
  result.std.clear();
  size_t next = 0;
  for (size_t b = 0; b < bands.size(); ++b) {
    const bool derived = next >= others.size() || others[next] != bands[b];
    result.mean.push_back(derived ? 0.0 : computed.mean[next]);
    result.std.push_back(derived ? 1.0 : computed.std[next]);
    if (!derived) ++next;
  }
  result.source += "; derived bands as read (published z-scores)";
  return result;
}

}  // namespace

Normalization make_normalization(NormalizationMethod method,
                                 const std::vector<const io::Scene*>& scenes,
                                 const std::vector<std::string>& bands) {
  std::vector<std::string> units;
  if (!scenes.empty()) {
    for (const auto& name : bands) {
      const io::Band* band = scenes.front()->find_band(name);
      units.push_back(band != nullptr ? band->units : "");
    }
  }
  auto result = with_derived_bands(bands, units, [&](const std::vector<std::string>& some) {
    return statistics_for(method, scenes, some);
  });
  if (!scenes.empty()) result.units = units;
  return result;
}

Normalization make_normalization(NormalizationMethod method,
                                 const std::vector<std::vector<BandSums>>& sums,
                                 const std::vector<std::string>& bands,
                                 const std::vector<std::string>& units) {
  // The sums are per band of `bands`; the computed bands take their own columns.
  Normalization result =
      with_derived_bands(bands, units, [&](const std::vector<std::string>& some) {
        if (auto fixed = fixed_statistics(method, some)) return *fixed;
        std::vector<std::vector<BandSums>> columns;
        for (const auto& scene : sums) {
          columns.emplace_back();
          for (const auto& name : some)
            columns.back().push_back(scene.at(
                static_cast<size_t>(std::find(bands.begin(), bands.end(), name) - bands.begin())));
        }
        return normalization_from_sums(columns, some, method);
      });
  if (!sums.empty()) result.units = units;
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
  if (normalization.speckle.active())
    j["speckle"] = {{"filter", normalization.speckle.filter},
                    {"window", normalization.speckle.window},
                    {"looks", normalization.speckle.looks}};
  if (normalization.downsample != 1) j["downsample"] = normalization.downsample;
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
    if (j.contains("speckle")) {
      const auto& s = j.at("speckle");
      result.speckle.filter = s.at("filter").get<std::string>();
      result.speckle.window = s.at("window").get<int64_t>();
      result.speckle.looks = s.at("looks").get<double>();
    }
    result.downsample = j.value("downsample", int64_t{1});
  } catch (const nlohmann::json::exception& e) {
    throw UserError(where + ": malformed normalisation record (" + e.what() + ")");
  }
  require(result.bands.size() == result.mean.size() && result.bands.size() == result.std.size(),
          where + ": normalisation record has mismatched band/mean/std counts");
  io::check_speckle_filter(result.speckle, where + ": speckle filter");
  require(result.downsample >= 1, where + ": normalisation record has downsampling factor " +
                                      std::to_string(result.downsample) + " (at least 1)");
  require(result.units.empty() || result.units.size() == result.bands.size(),
          where + ": normalisation record has " + std::to_string(result.units.size()) +
              " units for " + std::to_string(result.bands.size()) + " bands");
  return result;
}

void check_input_bands(const io::Scene& scene, const Normalization& normalization) {
  const auto& names = normalization.bands;
  const std::string where = "scene '" + scene.id + "'" +
                            (scene.source_path.empty() ? "" : " (" + scene.source_path + ")");
  require(!names.empty(), "the normalisation names no input band; the checkpoint is inconsistent");
  for (size_t c = 0; c < names.size(); ++c) {
    const io::Band* band = scene.find_band(names[c]);
    require(band != nullptr, where + " has no band '" + names[c] +
                                 "' that the model takes as input " + std::to_string(c + 1) +
                                 " of " + std::to_string(names.size()) + " (" + join(names, ", ") +
                                 "); it has: " + join(scene.band_names(), ", ") +
                                 "; give scenes with the checkpoint's bands");
    require(band->pixels.height == scene.height && band->pixels.width == scene.width,
            where + " band '" + names[c] + "' is not the scene's size");
    const std::string wanted = c < normalization.units.size() ? normalization.units[c] : "";
    require(wanted.empty() || band->units.empty() || band->units == wanted,
            where + " gives band '" + names[c] + "' in " + band->units +
                " but the model was trained on " + wanted +
                " values; read the scene in the training units (sarseg eval and predict do so "
                "from the checkpoint; in code: SceneReadOptions::physical_units)");
  }
}

SceneNormalizer::SceneNormalizer(const io::Scene& scene, const Normalization& normalization) {
  check_input_bands(scene, normalization);
  const auto& names = normalization.bands;
  require(normalization.mean.size() == names.size() && normalization.std.size() == names.size(),
          "the normalisation lists " + std::to_string(names.size()) + " bands but " +
              std::to_string(normalization.mean.size()) + " means and " +
              std::to_string(normalization.std.size()) + " stds; the checkpoint is inconsistent");
  valid_ = io::Raster<uint8_t>(scene.height, scene.width, 1);
  const size_t pixels = valid_.data.size();
  if (!scene.valid.empty())
    for (size_t i = 0; i < pixels; ++i)
      valid_.data[i] = scene.valid.data[i] != 0;
  if (normalization.speckle.active()) io::check_speckle_filter(normalization.speckle, "the input");
  filtered_.reserve(names.size());  // bands_ points into it
  for (size_t c = 0; c < names.size(); ++c) {
    const io::Band& band = scene.band(names[c]);
    const float* input = band.pixels.data.data();
    if (normalization.speckle.active()) {
      if (auto filtered = io::filtered_band(scene, band, normalization.speckle)) {
        filtered_.push_back(std::move(*filtered));
        input = filtered_.back().data.data();
      }
    }
    const double sd = normalization.std[c];
    require(std::isfinite(sd) && sd > 0 && std::isfinite(normalization.mean[c]),
            "the normalisation of band '" + names[c] + "' has mean " +
                std::to_string(normalization.mean[c]) + " and std " + std::to_string(sd) +
                "; a std must be positive (the checkpoint or statistics are damaged)");
    bands_.push_back(
        {input, static_cast<float>(normalization.mean[c]), static_cast<float>(1.0 / sd)});
    const float* values = input;
    for (size_t i = 0; i < pixels; ++i)
      if (!std::isfinite(values[i])) valid_.data[i] = 0;
  }
}

void SceneNormalizer::window(float* dst, int64_t y, int64_t x, int64_t h, int64_t w) const {
  const int64_t height = valid_.height, width = valid_.width;
  const int64_t first = std::max<int64_t>(0, -x);
  const int64_t last = std::max(first, std::min(w, width - x));  // columns [first, last) inside
  for (size_t c = 0; c < bands_.size(); ++c) {
    const InputBand& band = bands_[c];
    for (int64_t i = 0; i < h; ++i) {
      float* row = dst + (static_cast<int64_t>(c) * h + i) * w;
      const int64_t gy = y + i;
      if (gy < 0 || gy >= height) {
        std::fill(row, row + w, 0.0f);
        continue;
      }
      std::fill(row, row + first, 0.0f);
      const float* src = band.pixels + gy * width + x;
      const uint8_t* valid = valid_.data.data() + gy * width + x;
      normalise_row(row + first, src + first, valid + first, last - first, band.mean, band.inv_std);
      std::fill(row + last, row + w, 0.0f);
    }
  }
}

void SceneNormalizer::normalise_row(float* dst, const float* src, const uint8_t* valid, int64_t n,
                                    float mean, float inv_std) {
  if (valid) {
    for (int64_t j = 0; j < n; ++j)
      dst[j] = valid[j] ? (src[j] - mean) * inv_std : 0.0f;
  } else {
    for (int64_t j = 0; j < n; ++j)
      dst[j] = std::isfinite(src[j]) ? (src[j] - mean) * inv_std : 0.0f;
  }
}

}  // namespace sarseg::data
