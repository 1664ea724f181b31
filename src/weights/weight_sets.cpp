// The registry of named weight sets and the resolution of a name to a local, verified file.
#include "sarseg/weights/weight_sets.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>

#include "sarseg/build_config.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/sha256.h"
#include "sarseg/util/strings.h"
#include "sarseg/weights/download.h"

namespace fs = std::filesystem;

namespace sarseg::weights {
namespace {

const std::vector<double> kImageNetMean = {0.485, 0.456, 0.406};
const std::vector<double> kImageNetStd = {0.229, 0.224, 0.225};
// x/127.5 - 1 on 0..255 equals (x/255 - 0.5)/0.5.
const std::vector<double> kHalf = {0.5, 0.5, 0.5};

// A torchvision IMAGENET1K_V1 file, e.g. ("resnet18.imagenet", "resnet18",
// "resnet18-f37072fd.pth").
WeightSet torchvision_set(const std::string& name, const std::string& architecture,
                          const std::string& file_name) {
  WeightSet set;
  set.name = name;
  set.architecture = architecture;
  set.file_name = file_name;
  // torchvision names its files <arch>-<first 8 hex digits of the sha256>.pth.
  set.hash_prefix = file_name.substr(file_name.rfind('-') + 1, 8);
  set.urls = {"https://download.pytorch.org/models/" + file_name};
  set.normalisation = "ImageNet mean/std (RGB/255 - [0.485,0.456,0.406]) / [0.229,0.224,0.225]";
  set.mean = kImageNetMean;
  set.std = kImageNetStd;
  set.licence = "BSD-3-Clause (torchvision)";
  set.source = "torchvision IMAGENET1K_V1";
  return set;
}

WeightSet torchvision_resnet(const std::string& depth, const std::string& file_name) {
  return torchvision_set("resnet" + depth + ".imagenet", "resnet" + depth, file_name);
}

std::vector<WeightSet> make_registry() {
  std::vector<WeightSet> sets;
  WeightSet mobilenet;
  mobilenet.name = "mobilenet_v2.imagenet";
  mobilenet.architecture = "mobilenet_v2";
  mobilenet.file_name = "mobilenet_v2_1.0_224_imagenet_tv.safetensors";
  mobilenet.sha256 = "d611fc409bf4502f42d9fb00d1e2980ca4870af2ef246e24dda89ac6656afd61";
  // No public URL serves this converted file; it ships with the shared pretrained data.
  mobilenet.normalisation = "x/127.5-1 (RGB 0..255 to [-1,1])";
  mobilenet.mean = kHalf;
  mobilenet.std = kHalf;
  mobilenet.licence = "Apache-2.0";
  mobilenet.source =
      "google-coral/test_data mobilenet_v2_1.0_224_quant.tflite, converted to torchvision names";
  // Outside this machine: torchvision's own MobileNetV2 ImageNet weights, downloadable.
  const WeightSet mobilenet_torchvision = torchvision_set(
      "mobilenet_v2.imagenet_torchvision", "mobilenet_v2", "mobilenet_v2-b0353104.pth");
  mobilenet.fallbacks = {mobilenet_torchvision};
  sets.push_back(mobilenet);
  sets.push_back(mobilenet_torchvision);
  sets.push_back(torchvision_resnet("18", "resnet18-f37072fd.pth"));
  sets.push_back(torchvision_resnet("34", "resnet34-b627a593.pth"));
  sets.push_back(torchvision_resnet("50", "resnet50-0676ba61.pth"));
  return sets;
}

bool looks_like_path(const std::string& text) {
  return text.find('/') != std::string::npos || ends_with(text, ".safetensors") ||
         ends_with(text, ".pth") || ends_with(text, ".pt");
}

// Writable for us, and not marked read-only. access() alone is not enough: it says yes to root
// for a directory without write permission bits, and such a directory (e.g. shared reference
// data) must never be written into.
bool writable_directory(const fs::path& dir) {
  std::error_code error;
  const auto write_bits = fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write;
  struct statvfs filesystem {};
  return fs::is_directory(dir, error) && ::access(dir.c_str(), W_OK) == 0 &&
         (fs::status(dir, error).permissions() & write_bits) != fs::perms::none &&
         ::statvfs(dir.c_str(), &filesystem) == 0 && !(filesystem.f_flag & ST_RDONLY);
}

bool directory_writable(const fs::path& dir) {
  std::error_code error;
  if (fs::exists(dir, error)) return writable_directory(dir);
  // Creating it is fine when its nearest existing ancestor is writable.
  fs::path ancestor = dir;
  while (!ancestor.empty() && !fs::exists(ancestor, error) && ancestor != ancestor.parent_path())
    ancestor = ancestor.parent_path();
  return !ancestor.empty() && writable_directory(ancestor);
}

std::string expected_hash_text(const WeightSet& set) {
  return set.sha256.empty() ? "sha256 starting " + set.hash_prefix : "sha256 " + set.sha256;
}

}  // namespace

std::string hash_problem(const WeightSet& set, const std::string& actual_sha256) {
  if (!set.sha256.empty() && actual_sha256 != set.sha256)
    return "has sha256 " + actual_sha256 + ", expected " + set.sha256;
  if (!set.hash_prefix.empty() && !starts_with(actual_sha256, set.hash_prefix))
    return "has sha256 " + actual_sha256 + ", expected one starting " + set.hash_prefix;
  return "";
}

const std::vector<WeightSet>& weight_sets() {
  static const std::vector<WeightSet> sets = make_registry();
  return sets;
}

const WeightSet& find_weight_set(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& set : weight_sets()) {
    if (set.name == name) return set;
    names.push_back(set.name);
  }
  const auto close = closest_matches(name, names, 1);
  throw UserError("unknown weight set '" + name + "'" +
                  (close.empty() ? std::string() : " (did you mean '" + close[0] + "'?)") +
                  "; valid: " + join(names, ", ") + ", or the path of a weight file");
}

const WeightSet* default_weight_set(const std::string& encoder) {
  for (const auto& set : weight_sets())
    if (set.name == encoder + ".imagenet") return &set;
  return nullptr;
}

const WeightSet* weight_set_for_file(const fs::path& file) {
  for (const auto& set : weight_sets())
    if (set.file_name == file.filename().string()) return &set;
  return nullptr;
}

fs::path weights_dir() {
  if (const char* dir = std::getenv("SARSEG_WEIGHTS_DIR"); dir && *dir) return dir;
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".cache/sarseg/weights";
  return fs::temp_directory_path() / "sarseg-weights";
}

bool offline_mode() {
  const char* value = std::getenv("SARSEG_OFFLINE");
  return value && *value && std::string(value) != "0";
}

namespace {

// Steps 2 and 3 for one file: its path, or "" with `why_not` saying why not (a file of the
// wrong hash is an error).
fs::path find_or_download(const WeightSet& set, bool allow_download, std::string* why_not) {
  const fs::path dir = weights_dir();
  const fs::path target = dir / set.file_name;
  if (fs::exists(target)) {
    const std::string problem = hash_problem(set, sha256_file_hex(target));
    require(problem.empty(),
            "weight set " + set.name + ": " + target.string() + " " + problem +
                "; the file is damaged or a different version: replace it" +
                (set.urls.empty() ? std::string() : " or delete it to download it again"));
    return target;
  }

  std::string why;
  if (set.urls.empty()) {
    why = "no download source is known for it";
  } else if (!allow_download) {
    why = "downloading was not allowed";
  } else if (offline_mode()) {
    why = "SARSEG_OFFLINE is set";
  } else if (!SARSEG_HAVE_CURL) {
    why = "this build has no libcurl (SARSEG_WITH_CURL=OFF)";
  } else if (!directory_writable(dir)) {
    why = "the weights directory is not writable";
  } else {
    ensure_output_directory(dir);
    std::vector<std::string> failures;
    for (const auto& url : set.urls) {
      try {
        download_verified(url, target, set);
        return target;
      } catch (const UserError& error) {
        failures.push_back(error.what());
      }
    }
    why = join(failures, "; ");
  }
  *why_not = set.urls.empty() ? why : "download from " + set.urls.front() + " failed: " + why;
  return {};
}

}  // namespace

fs::path resolve_weight_set(const WeightSet& set, bool allow_download) {
  std::vector<const WeightSet*> candidates = {&set};
  for (const auto& fallback : set.fallbacks)
    candidates.push_back(&fallback);
  std::vector<std::string> files, reasons;
  for (const WeightSet* candidate : candidates) {
    std::string why_not;
    const fs::path found = find_or_download(*candidate, allow_download, &why_not);
    if (!found.empty()) return found;
    files.push_back(candidate->file_name + " (" + expected_hash_text(*candidate) + ")");
    reasons.push_back(candidates.size() == 1 ? why_not : candidate->file_name + ": " + why_not);
  }
  throw UserError("weight set " + set.name + ": put " + join(files, " or ") + " into " +
                  weights_dir().string() + " or set SARSEG_WEIGHTS_DIR; " + join(reasons, "; "));
}

fs::path resolve_weights(const std::string& name_or_path, bool allow_download) {
  std::error_code error;
  if (fs::is_regular_file(name_or_path, error)) return name_or_path;
  if (fs::exists(name_or_path, error))
    throw UserError("weights '" + name_or_path + "' is not a regular file");
  bool known = false;
  for (const auto& set : weight_sets())
    known = known || set.name == name_or_path;
  if (!known && looks_like_path(name_or_path))
    throw UserError("weight file '" + name_or_path +
                    "' does not exist; give an existing file or a weight-set name (see 'sarseg "
                    "weights list')");
  return resolve_weight_set(find_weight_set(name_or_path), allow_download);
}

}  // namespace sarseg::weights
