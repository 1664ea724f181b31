#include "sarseg/experiment/test_domains.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "sarseg/data/dataset.h"
#include "sarseg/synth/splits.h"
#include "sarseg/synth/synth.h"
#include "sarseg/train/config.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::experiment {

namespace {

const char* kSyntheticShifts =
    "space-separated looks=N noise_floor_db=D incidence=NEAR-FAR pixel_spacing_m=M";

// The words of `text` separated by spaces (commas separate the entries of a config list).
std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  for (const auto& word : split(text, ' '))
    if (!trim(word).empty()) words.push_back(trim(word));
  return words;
}

// Applies the shifts of `text` ("looks=4 noise_floor_db=6") to `spec`; `words` gets them in
// words. UserError naming `where` for an unknown shift or a bad value.
void apply_shifts(const std::string& text, const std::string& where, synth::SynthSpec& spec,
                  std::string* words) {
  std::vector<std::string> said;
  for (const auto& shift : words_of(text)) {
    const auto eq = shift.find('=');
    require(eq != std::string::npos,
            where + ": '" + shift + "' is not KEY=VALUE; use " + kSyntheticShifts);
    const std::string key = trim(shift.substr(0, eq));
    const std::string value = trim(shift.substr(eq + 1));
    const std::string at = where + ", " + key;
    if (key == "looks") {
      config::parse_value(value, at, spec.looks);
      said.push_back(value + " looks");
    } else if (key == "noise_floor_db") {
      double offset = 0;
      config::parse_value(value, at, offset);
      spec.physics.hh_noise_floor_db += offset;
      spec.physics.hv_noise_floor_db += offset;
      said.push_back("noise floor " + (offset >= 0 ? "+" + value : value) + " dB");
    } else if (key == "incidence") {
      const auto dash = value.find('-', 1);
      require(dash != std::string::npos, at + ": '" + value + "' is not NEAR-FAR (e.g. 30-45)");
      config::parse_value(trim(value.substr(0, dash)), at, spec.incidence_near_deg);
      config::parse_value(trim(value.substr(dash + 1)), at, spec.incidence_far_deg);
      said.push_back("incidence " + value + " deg");
    } else if (key == "pixel_spacing_m") {
      config::parse_value(value, at, spec.pixel_spacing_m);
      said.push_back(value + " m pixels");
    } else {
      throw UserError(where + ": unknown shift '" + key + "'; use " + kSyntheticShifts);
    }
  }
  require(!said.empty(), where + ": no shift given; use " + std::string(kSyntheticShifts));
  try {
    synth::SynthSpec checked = spec;
    checked.season = io::Season::kWinter;
    synth::validate(checked);
  } catch (const UserError& error) {
    throw UserError(where + ": " + error.what());
  }
  if (words) *words = join(said, ", ");
}

}  // namespace

std::vector<TestDomainSpec> parse_test_domains(const ExperimentConfig& config) {
  std::vector<TestDomainSpec> domains;
  std::set<std::string> names;
  const bool synthetic = config.train.data.source == "synthetic";
  for (const auto& entry : config.experiment.test_domains) {
    const std::string where = "data.test_domains entry '" + entry + "'";
    const auto colon = entry.find(':');
    require(colon != std::string::npos,
            where + " is not \"NAME: SCENES\" (e.g. \"" +
                (synthetic ? std::string("few-looks: looks=4") : std::string("arctic2: b.txt")) +
                "\"; quote it in YAML)");
    TestDomainSpec domain;
    domain.name = trim(entry.substr(0, colon));
    domain.scenes = trim(entry.substr(colon + 1));
    const bool safe_name =
        !domain.name.empty() && std::all_of(domain.name.begin(), domain.name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
        });
    require(safe_name, where + ": the name may only hold letters, digits, '_', '-' and '.'");
    require(names.insert(domain.name).second,
            "data.test_domains names domain '" + domain.name + "' twice");
    require(!domain.scenes.empty(), where + ": no scenes after the name");
    if (synthetic) {
      synth::SynthSpec spec;
      apply_shifts(domain.scenes, where, spec, &domain.description);
      domain.description = "simulated test scenes with " + domain.description;
    } else {
      domain.description = "scenes of " + domain.scenes;
    }
    domains.push_back(std::move(domain));
  }
  return domains;
}

std::vector<TestDomain> load_test_domains(const ExperimentConfig& config) {
  std::vector<TestDomain> domains;
  const auto tasks = train::tasks_of(config.train);
  for (auto& spec : parse_test_domains(config)) {
    TestDomain domain;
    const std::string where = "data.test_domains (" + spec.name + ")";
    if (config.train.data.source == "synthetic") {
      const std::string text = spec.scenes;
      domain.scenes = synth::generate_shifted_test_split(
          config.synth, [&](synth::SynthSpec& s) { apply_shifts(text, where, s, nullptr); });
    } else {
      io::SceneReadOptions options;
      options.physical_units = config.train.data.physical_units;
      options.derived_bands = config.train.data.bands;
      domain.scenes =
          data::read_scene_files(data::expand_scene_paths(words_of(spec.scenes), where), options);
    }
    require(!domain.scenes.empty(), where + " has no scenes; list some or remove the domain");
    data::check_scenes(domain.scenes, config.train.data.bands, tasks,
                       static_cast<int>(config.train.data.ignore_label), where);
    domain.spec = std::move(spec);
    domains.push_back(std::move(domain));
  }
  return domains;
}

}  // namespace sarseg::experiment
