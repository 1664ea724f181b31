// Named weight sets (e.g. "mobilenet_v2.imagenet") and where their files come from.
//
// Resolution order for resolve_weights(name_or_path):
//   1. an existing file path is used as is;
//   2. the weights directory: $SARSEG_WEIGHTS_DIR, else ~/.cache/sarseg/weights;
//   3. download from the set's URLs (libcurl) into the weights directory, sha256 checked.
// Offline, the UserError says which file to put where.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sarseg::weights {

struct WeightSet {
  std::string name;          // "mobilenet_v2.imagenet"
  std::string architecture;  // encoder name, e.g. "mobilenet_v2"
  std::string file_name;     // file looked for in the weights directory
  std::string sha256;        // full hex digest, or "" when only a prefix is known
  std::string hash_prefix;   // torchvision's 8-hex prefix in the file name, when that is all
  std::vector<std::string> urls;
  std::string normalisation;  // e.g. "x/127.5-1 (RGB 0..255)" or "ImageNet mean/std"
  std::string licence;
  int64_t num_classes = 1000;  // of the classifier the file carries
};

const std::vector<WeightSet>& weight_sets();
// UserError listing the valid names when unknown.
const WeightSet& find_weight_set(const std::string& name);
// Default weight set of an encoder ("<encoder>.imagenet"), or nullptr.
const WeightSet* default_weight_set(const std::string& encoder);

std::filesystem::path weights_dir();
std::filesystem::path resolve_weights(const std::string& name_or_path, bool allow_download = true);

}  // namespace sarseg::weights
