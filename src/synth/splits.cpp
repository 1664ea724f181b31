#include "sarseg/synth/splits.h"

#include "sarseg/synth/synth.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::synth {
namespace {

std::vector<io::Scene> generate_split(const SplitOptions& o, int split_index, int64_t per_season,
                                      const std::function<void(SynthSpec&)>& shift = {}) {
  std::vector<io::Scene> scenes;
  const auto [height, width] = parse_size(o.size, "synth.size");
  for (size_t s = 0; s < o.seasons.size(); ++s) {
    for (int64_t k = 0; k < per_season; ++k) {
      SynthSpec spec;
      spec.season = io::parse_season(o.seasons[s]);
      spec.height = height;
      spec.width = width;
      spec.label_mode = parse_label_mode(o.label_mode);
      spec.seed = o.seed * 1000003ULL + static_cast<uint64_t>(split_index) * 100000ULL +
                  s * 1000ULL + static_cast<uint64_t>(k);
      if (shift) shift(spec);
      io::Scene scene = generate_scene(spec);
      if (scene.source_path.empty())
        scene.source_path =
            "synthetic " + o.seasons[s] + " scene (seed " + std::to_string(spec.seed) + ")";
      scenes.push_back(std::move(scene));
    }
  }
  return scenes;
}

}  // namespace

const config::ConfigSchema<SplitOptions>& split_options_schema() {
  static const auto schema = [] {
    config::ConfigSchema<SplitOptions> s;
    using O = SplitOptions;
    s.add(
        "synth.seasons", [](O & o) -> auto& { return o.seasons; },
        "seasons of the generated scenes (data.source=synthetic)");
    s.add(
        "synth.train_per_season", [](O & o) -> auto& { return o.train_per_season; },
        "generated training scenes per season");
    s.add(
        "synth.val_per_season", [](O & o) -> auto& { return o.val_per_season; },
        "generated validation scenes per season");
    s.add(
        "synth.test_per_season", [](O & o) -> auto& { return o.test_per_season; },
        "generated test scenes per season");
    s.add(
        "synth.size", [](O & o) -> auto& { return o.size; }, "generated scene size, HxW or N");
    s.add(
        "synth.seed", [](O & o) -> auto& { return o.seed; },
        "simulator seed (scene k of a split and season gets its own derived seed)");
    s.add("synth.label_mode", [](O & o) -> auto& { return o.label_mode; },
          "labels from chart polygons (like real data) or pixel truth", {"chart", "pixel"});
    return s;
  }();
  return schema;
}

void validate(const SplitOptions& o) {
  require(!o.seasons.empty(), "synth.seasons is empty");
  for (const auto& season : o.seasons)
    io::parse_season(season);
  require(o.train_per_season > 0, "synth.train_per_season must be positive");
  require(o.val_per_season > 0, "synth.val_per_season must be positive");
  require(o.test_per_season >= 0, "synth.test_per_season must not be negative");
  parse_size(o.size, "synth.size");
}

GeneratedSplits generate_splits(const SplitOptions& options) {
  validate(options);
  GeneratedSplits splits;
  splits.train = generate_split(options, 0, options.train_per_season);
  splits.val = generate_split(options, 1, options.val_per_season);
  splits.test = generate_split(options, 2, options.test_per_season);
  return splits;
}

std::vector<io::Scene> generate_shifted_test_split(const SplitOptions& options,
                                                   const std::function<void(SynthSpec&)>& shift) {
  validate(options);
  return generate_split(options, 2, options.test_per_season, shift);
}

}  // namespace sarseg::synth
