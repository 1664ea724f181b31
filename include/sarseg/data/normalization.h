// Per-band input normalisation (z-score), saved with every checkpoint.
#pragma once

#include <string>
#include <vector>

#include "sarseg/io/scene.h"

namespace sarseg::data {

struct Normalization {
  std::vector<std::string> bands;  // scene band names, in model input-channel order
  std::vector<double> mean;
  std::vector<double> std;
  std::string source;  // "training statistics", "ai4arctic global", ...
};

}  // namespace sarseg::data
