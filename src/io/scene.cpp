#include "sarseg/io/scene.h"

#include "sarseg/util/error.h"
#include "sarseg/util/find.h"
#include "sarseg/util/strings.h"

namespace sarseg::io {

std::string to_string(Season season) {
  switch (season) {
    case Season::kFreezeUp:
      return "freeze-up";
    case Season::kWinter:
      return "winter";
    case Season::kMelt:
      return "melt";
    default:
      return "unknown";
  }
}

Season parse_season(std::string_view text) {
  const std::string s = to_lower(text);
  if (s == "freeze-up" || s == "freezeup" || s == "freeze" || s == "freeze_up") {
    return Season::kFreezeUp;
  }
  if (s == "winter") return Season::kWinter;
  if (s == "melt") return Season::kMelt;
  if (s == "unknown" || s.empty()) return Season::kUnknown;
  throw UserError("season '" + std::string(text) + "' is not known; use freeze-up, winter or melt");
}

Season season_from_date(int month, double latitude_deg) {
  require(month >= 1 && month <= 12, "month " + std::to_string(month) + " is not in 1..12");
  if (latitude_deg < 0) month = (month + 5) % 12 + 1;  // southern hemisphere: six months later
  if (month >= 5 && month <= 8) return Season::kMelt;
  if (month >= 9 && month <= 11) return Season::kFreezeUp;
  return Season::kWinter;
}

const Band* Scene::find_band(std::string_view name) const {
  return find_first(bands, [&](const Band& b) { return b.name == name; });
}

Band* Scene::find_band(std::string_view name) {
  return find_first(bands, [&](const Band& b) { return b.name == name; });
}

const Band& Scene::band(std::string_view name) const {
  const Band* found = find_band(name);
  require(found != nullptr, "scene '" + id + "' has no band '" + std::string(name) +
                                "'; it has: " + join(band_names(), ", "));
  return *found;
}

std::vector<std::string> Scene::band_names() const {
  std::vector<std::string> names;
  for (const auto& b : bands)
    names.push_back(b.name);
  return names;
}

void Scene::check_consistent() const {
  const std::string where = "scene '" + (id.empty() ? source_path : id) + "'";
  require(height > 0 && width > 0, where + " has zero size");
  for (const auto& b : bands) {
    require(b.pixels.height == height && b.pixels.width == width &&
                b.pixels.data.size() == static_cast<size_t>(height * width),
            where + ": band '" + b.name + "' is not " + std::to_string(height) + "x" +
                std::to_string(width));
  }
  for (const auto& [name, raster] : labels) {
    require(raster.height == height && raster.width == width &&
                raster.data.size() == static_cast<size_t>(height * width),
            where + ": label '" + name + "' is not " + std::to_string(height) + "x" +
                std::to_string(width));
  }
  require(valid.empty() || (valid.height == height && valid.width == width),
          where + ": validity mask has the wrong size");
}

}  // namespace sarseg::io
