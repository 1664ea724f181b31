// Named weight sets (e.g. "mobilenet_v2.imagenet") and where their files come from.
//
// Resolution order for resolve_weights(name_or_path):
//   1. an existing file path is used as is;
//   2. the weights directory: $SARSEG_WEIGHTS_DIR, else ~/.cache/sarseg/weights;
//   3. download from the set's URLs (libcurl) into the weights directory, sha256 checked, only
//      when that directory is writable and $SARSEG_OFFLINE is not set;
//   4. when the set's own file is neither there nor downloadable, its fallbacks in order, each
//      by steps 2 and 3 (mobilenet_v2.imagenet: torchvision's mobilenet_v2-b0353104.pth).
// Offline, the UserError says which file to put where. weight_set_for_file(path) tells which
// set a resolved file belongs to.
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
  // Input normalisation as numbers, per RGB channel on values scaled to 0..1:
  // (x/255 - mean) / std. "x/127.5-1" is mean = std = 0.5.
  std::vector<double> mean;
  std::vector<double> std;
  std::string source;  // where the weights come from, in words
  // Other files with the same architecture, tried in order when this set's file is neither in
  // the weights directory nor downloadable (e.g. a converted file that has no public URL).
  std::vector<WeightSet> fallbacks;
};

const std::vector<WeightSet>& weight_sets();
// UserError listing the valid names when unknown.
const WeightSet& find_weight_set(const std::string& name);
// Default weight set of an encoder ("<encoder>.imagenet"), or nullptr.
const WeightSet* default_weight_set(const std::string& encoder);

std::filesystem::path weights_dir();
std::filesystem::path resolve_weights(const std::string& name_or_path, bool allow_download = true);

// The weight set whose file_name is `file`'s name, or nullptr.
const WeightSet* weight_set_for_file(const std::filesystem::path& file);
// Steps 2 to 4 of the resolution for one set (also for sets not in the registry, e.g. in tests).
// A file already in the weights directory is hash-checked too (a wrong hash is an error, never a
// reason to try a fallback).
std::filesystem::path resolve_weight_set(const WeightSet& set, bool allow_download = true);
// True when $SARSEG_OFFLINE is set to anything but "" or "0": never download.
bool offline_mode();
// "" when `actual_sha256` satisfies the set's sha256 / hash prefix, else what is wrong.
std::string hash_problem(const WeightSet& set, const std::string& actual_sha256);

}  // namespace sarseg::weights
