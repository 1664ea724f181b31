// Test domains besides the season (data.test_domains): one entry per domain, "NAME: SCENES".
//
//   data.source=files      SCENES: scene files or list files (as data.test), separated by
//                          spaces: another region, sensor or product list.
//   data.source=synthetic  SCENES: shifts of the simulator separated by spaces, applied to the
//                          test split (the same ice, imaged otherwise):
//                            looks=N               equivalent number of looks (default 16)
//                            noise_floor_db=D      added to the HH and HV noise floors (dB)
//                            incidence=NEAR-FAR    incidence range across the swath (deg)
//                            pixel_spacing_m=M     pixel spacing (default 80 m)
//   e.g. data.test_domains=["few-looks: looks=4", "noisy: noise_floor_db=6",
//                           "coarse: pixel_spacing_m=160 incidence=30-45"]
// (commas separate the entries of a config list, so a domain's words are separated by spaces).
//
// Every test scene of a domain is evaluated with the last and best weights of every run; the
// evaluations carry the domain's name (Evaluation::domain) into result.json and summary.json.
#pragma once

#include <string>
#include <vector>

#include "sarseg/experiment/config.h"
#include "sarseg/io/scene.h"

namespace sarseg::experiment {

struct TestDomainSpec {
  std::string name;         // letters, digits, '_', '-', '.'
  std::string scenes;       // the text after "NAME:"
  std::string description;  // in words, for the report
};

// The entries of data.test_domains, checked (names unique, shifts known and in range); UserError
// naming the entry and what to write otherwise.
std::vector<TestDomainSpec> parse_test_domains(const ExperimentConfig& config);

struct TestDomain {
  TestDomainSpec spec;
  std::vector<io::Scene> scenes;
};

// Each domain's scenes (read or generated), checked for the configured bands and labels.
std::vector<TestDomain> load_test_domains(const ExperimentConfig& config);

}  // namespace sarseg::experiment
