// Weight-set registry and resolution: explicit path, weights directory (hash checked), download
// through libcurl from a local file:// URL (no network here), the offline error, and fallback
// files (torchvision's MobileNetV2 when the shipped converted file is absent).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>

#include "pickle_writer.h"
#include "sarseg/build_config.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/sha256.h"
#include "sarseg/weights/weight_sets.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using sarseg::UserError;
using sarseg::testing::TempDir;
using namespace sarseg::weights;

namespace {

// Sets an environment variable for one scope and restores the previous value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const UserError& error) {
    return error.what();
  }
  return "";
}

fs::path shared_mobilenet() {
  return sarseg::testing::shared_dir() / "pretrained/mobilenet_v2_1.0_224_imagenet_tv.safetensors";
}

size_t file_count(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

WeightSet local_set(const fs::path& source, const std::string& file_name) {
  WeightSet set;
  set.name = "test.local";
  set.architecture = "none";
  set.file_name = file_name;
  set.sha256 = sarseg::sha256_file_hex(source);
  set.urls = {"file://" + source.string()};
  return set;
}

// A small real torch.save archive (not any registered file's content).
void write_fake_pth(const fs::path& path) {
  sarseg::testing::write_torch_save(path, {{"features.0.0.weight", torch::ones({2, 3, 3, 3})}});
}

}  // namespace

TEST(WeightSets, RegistryDescribesEachSet) {
  const WeightSet& mobilenet = find_weight_set("mobilenet_v2.imagenet");
  EXPECT_EQ(mobilenet.architecture, "mobilenet_v2");
  EXPECT_EQ(mobilenet.file_name, "mobilenet_v2_1.0_224_imagenet_tv.safetensors");
  EXPECT_EQ(mobilenet.licence, "Apache-2.0");
  EXPECT_EQ(mobilenet.mean, (std::vector<double>{0.5, 0.5, 0.5}));
  const WeightSet& resnet18 = find_weight_set("resnet18.imagenet");
  EXPECT_EQ(resnet18.hash_prefix, "f37072fd");
  EXPECT_EQ(resnet18.urls.at(0), "https://download.pytorch.org/models/resnet18-f37072fd.pth");
  EXPECT_EQ(find_weight_set("resnet50.imagenet").hash_prefix, "0676ba61");
  EXPECT_EQ(find_weight_set("resnet34.imagenet").hash_prefix, "b627a593");
  EXPECT_EQ(default_weight_set("resnet34")->name, "resnet34.imagenet");
  EXPECT_EQ(default_weight_set("unet"), nullptr);
  for (const auto& set : weight_sets()) {
    EXPECT_FALSE(set.sha256.empty() && set.hash_prefix.empty()) << set.name << " has no hash";
    EXPECT_EQ(set.mean.size(), 3u) << set.name;
    EXPECT_FALSE(set.licence.empty()) << set.name;
  }
  const std::string message = error_of([] { find_weight_set("mobilenet_v2.imagnet"); });
  EXPECT_NE(message.find("did you mean 'mobilenet_v2.imagenet'"), std::string::npos) << message;
  EXPECT_NE(message.find("resnet50.imagenet"), std::string::npos) << message;
}

TEST(WeightSets, ShippedFileMatchesTheRegisteredHash) {
  if (!fs::exists(shared_mobilenet())) GTEST_SKIP() << "no shared pretrained data";
  EXPECT_EQ(hash_problem(find_weight_set("mobilenet_v2.imagenet"),
                         sarseg::sha256_file_hex(shared_mobilenet())),
            "");
}

TEST(Resolve, ExplicitPathIsUsedAsIs) {
  TempDir dir;
  sarseg::write_file_atomically(dir / "mine.safetensors", "x");
  EXPECT_EQ(resolve_weights((dir / "mine.safetensors").string()), dir / "mine.safetensors");
  const std::string message = error_of([&] { resolve_weights((dir / "gone.pth").string()); });
  EXPECT_NE(message.find("gone.pth' does not exist"), std::string::npos) << message;
}

TEST(Resolve, FindsTheSetInTheWeightsDirectory) {
  if (!fs::exists(shared_mobilenet())) GTEST_SKIP() << "no shared pretrained data";
  ScopedEnv dir("SARSEG_WEIGHTS_DIR", shared_mobilenet().parent_path().string());
  EXPECT_EQ(weights_dir(), shared_mobilenet().parent_path());
  EXPECT_EQ(resolve_weights("mobilenet_v2.imagenet"), shared_mobilenet());
}

TEST(Resolve, DefaultDirectoryIsTheUserCache) {
  ScopedEnv dir("SARSEG_WEIGHTS_DIR", std::nullopt);
  ScopedEnv home("HOME", "/home/someone");
  EXPECT_EQ(weights_dir(), fs::path("/home/someone/.cache/sarseg/weights"));
}

TEST(Resolve, OfflineErrorSaysWhichFileGoesWhere) {
  TempDir empty;
  ScopedEnv dir("SARSEG_WEIGHTS_DIR", empty.path().string());
  ScopedEnv offline("SARSEG_OFFLINE", "1");
  const std::string message = error_of([] { resolve_weights("resnet18.imagenet"); });
  EXPECT_NE(message.find("put resnet18-f37072fd.pth (sha256 starting f37072fd) into " +
                         empty.path().string()),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("SARSEG_WEIGHTS_DIR"), std::string::npos) << message;
  EXPECT_NE(message.find("https://download.pytorch.org/models/resnet18-f37072fd.pth"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("SARSEG_OFFLINE"), std::string::npos) << message;
  EXPECT_EQ(file_count(empty.path()), 0u);
  // A set with no download source says so.
  const std::string local = error_of([] { resolve_weights("mobilenet_v2.imagenet"); });
  EXPECT_NE(local.find("put mobilenet_v2_1.0_224_imagenet_tv.safetensors (sha256 d611fc40"),
            std::string::npos)
      << local;
}

TEST(Resolve, DamagedFileInTheWeightsDirectoryIsDetected) {
  if (!fs::exists(shared_mobilenet())) GTEST_SKIP() << "no shared pretrained data";
  TempDir copy;
  std::string bytes = sarseg::read_file(shared_mobilenet());
  bytes[bytes.size() / 2] ^= 0x01;
  sarseg::write_file_atomically(copy / "mobilenet_v2_1.0_224_imagenet_tv.safetensors", bytes);
  ScopedEnv dir("SARSEG_WEIGHTS_DIR", copy.path().string());
  const std::string message = error_of([] { resolve_weights("mobilenet_v2.imagenet"); });
  EXPECT_NE(
      message.find("expected d611fc409bf4502f42d9fb00d1e2980ca4870af2ef246e24dda89ac6656afd61"),
      std::string::npos)
      << message;
  EXPECT_NE(message.find(copy.path().string()), std::string::npos) << message;
}

TEST(Download, FetchesAFileUrlIntoTheWeightsDirectory) {
  if (!SARSEG_HAVE_CURL) GTEST_SKIP() << "built without libcurl";
  TempDir source, weights;
  const std::string content(100000, 'w');
  sarseg::write_file_atomically(source / "remote.bin", content);
  ScopedEnv dir("SARSEG_WEIGHTS_DIR", (weights.path() / "sub").string());  // created on demand
  ScopedEnv offline("SARSEG_OFFLINE", std::nullopt);
  WeightSet set = local_set(source / "remote.bin", "fetched.bin");
  const fs::path path = resolve_weight_set(set);
  EXPECT_EQ(path, weights.path() / "sub" / "fetched.bin");
  EXPECT_EQ(sarseg::read_file(path), content);
  EXPECT_EQ(file_count(weights.path() / "sub"), 1u);  // no temporary left behind
  // Found locally the second time, even offline.
  ScopedEnv offline_now("SARSEG_OFFLINE", "1");
  EXPECT_EQ(resolve_weight_set(set), path);
}

TEST(Download, HashMismatchIsRejectedAndNothingIsKept) {
  if (!SARSEG_HAVE_CURL) GTEST_SKIP() << "built without libcurl";
  TempDir source, weights;
  sarseg::write_file_atomically(source / "remote.bin", "tampered content");
  ScopedEnv dir("SARSEG_WEIGHTS_DIR", weights.path().string());
  ScopedEnv offline("SARSEG_OFFLINE", std::nullopt);
  WeightSet set = local_set(source / "remote.bin", "fetched.bin");
  set.sha256 = std::string(64, '0');
  std::string message = error_of([&] { resolve_weight_set(set); });
  EXPECT_NE(message.find("expected " + std::string(64, '0')), std::string::npos) << message;
  EXPECT_NE(message.find("not kept"), std::string::npos) << message;
  EXPECT_EQ(file_count(weights.path()), 0u);
  // torchvision-style prefix check.
  set.sha256.clear();
  set.hash_prefix = "abcdef01";
  message = error_of([&] { resolve_weight_set(set); });
  EXPECT_NE(message.find("expected one starting abcdef01"), std::string::npos) << message;
  set.hash_prefix = sarseg::sha256_hex("tampered content").substr(0, 8);
  EXPECT_EQ(resolve_weight_set(set), weights.path() / "fetched.bin");
}

TEST(Download, FailedTransferNamesTheUrl) {
  if (!SARSEG_HAVE_CURL) GTEST_SKIP() << "built without libcurl";
  TempDir weights;
  ScopedEnv dir("SARSEG_WEIGHTS_DIR", weights.path().string());
  ScopedEnv offline("SARSEG_OFFLINE", std::nullopt);
  WeightSet set;
  set.name = "test.missing";
  set.file_name = "missing.bin";
  set.sha256 = std::string(64, 'a');
  set.urls = {"file:///nonexistent/sarseg/missing.bin"};
  const std::string message = error_of([&] { resolve_weight_set(set); });
  EXPECT_NE(message.find("put missing.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("download from file:///nonexistent/sarseg/missing.bin failed"),
            std::string::npos)
      << message;
  EXPECT_EQ(file_count(weights.path()), 0u);
}

TEST(Download, NeverWritesIntoAReadOnlyWeightsDirectory) {
  TempDir source;
  sarseg::write_file_atomically(source / "remote.bin", "data");
  const fs::path read_only = sarseg::testing::shared_dir() / "pretrained";
  const auto write_bits = fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write;
  if (!fs::is_directory(read_only) ||
      (fs::status(read_only).permissions() & write_bits) != fs::perms::none)
    GTEST_SKIP() << "needs the read-only shared pretrained directory";
  ScopedEnv dir("SARSEG_WEIGHTS_DIR", read_only.string());
  ScopedEnv offline("SARSEG_OFFLINE", std::nullopt);
  const WeightSet set = local_set(source / "remote.bin", "not_there.bin");
  const std::string message = error_of([&] { resolve_weight_set(set); });
  EXPECT_NE(message.find("not writable"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(read_only / "not_there.bin"));
}

TEST(WeightSets, MobileNetFallsBackToTorchvisionsOwnFile) {
  const WeightSet& mobilenet = find_weight_set("mobilenet_v2.imagenet");
  ASSERT_EQ(mobilenet.fallbacks.size(), 1u);
  const WeightSet& torchvision = mobilenet.fallbacks[0];
  EXPECT_EQ(torchvision.name, "mobilenet_v2.imagenet_torchvision");
  EXPECT_EQ(torchvision.architecture, "mobilenet_v2");
  EXPECT_EQ(torchvision.file_name, "mobilenet_v2-b0353104.pth");
  EXPECT_EQ(torchvision.hash_prefix, "b0353104");
  EXPECT_TRUE(torchvision.sha256.empty());
  EXPECT_EQ(torchvision.urls, std::vector<std::string>{
                                  "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth"});
  EXPECT_EQ(torchvision.mean, (std::vector<double>{0.485, 0.456, 0.406}));
  EXPECT_EQ(torchvision.licence, "BSD-3-Clause (torchvision)");
  // Also a set of its own, and the file tells which set it is (for its normalisation).
  EXPECT_EQ(find_weight_set("mobilenet_v2.imagenet_torchvision").file_name, torchvision.file_name);
  ASSERT_NE(weight_set_for_file("/somewhere/mobilenet_v2-b0353104.pth"), nullptr);
  EXPECT_EQ(weight_set_for_file("/somewhere/mobilenet_v2-b0353104.pth")->name,
            "mobilenet_v2.imagenet_torchvision");
  EXPECT_EQ(default_weight_set("mobilenet_v2")->name, "mobilenet_v2.imagenet");
}

TEST(Resolve, ShippedFileIsUsedBeforeTheFallback) {
  if (!fs::exists(shared_mobilenet())) GTEST_SKIP() << "no shared pretrained data";
  TempDir weights;
  fs::create_symlink(shared_mobilenet(), weights / shared_mobilenet().filename().string());
  // A fallback file of the wrong hash beside it: looked at, it would be refused.
  write_fake_pth(weights / "mobilenet_v2-b0353104.pth");
  ScopedEnv dir("SARSEG_WEIGHTS_DIR", weights.path().string());
  ScopedEnv offline("SARSEG_OFFLINE", "1");
  EXPECT_EQ(resolve_weights("mobilenet_v2.imagenet"),
            weights / "mobilenet_v2_1.0_224_imagenet_tv.safetensors");
}

TEST(Resolve, FallbackFileInTheWeightsDirectoryIsUsedWhenTheSetsOwnIsAbsent) {
  TempDir weights;
  write_fake_pth(weights / "fallback-1234.pth");
  WeightSet fallback;
  fallback.name = "test.fallback";
  fallback.file_name = "fallback-1234.pth";
  fallback.hash_prefix = sarseg::sha256_file_hex(weights / "fallback-1234.pth").substr(0, 8);
  fallback.urls = {"https://example.invalid/fallback-1234.pth"};
  WeightSet set;
  set.name = "test.shipped";
  set.file_name = "shipped.safetensors";
  set.sha256 = std::string(64, 'c');
  set.fallbacks = {fallback};
  ScopedEnv dir("SARSEG_WEIGHTS_DIR", weights.path().string());
  ScopedEnv offline("SARSEG_OFFLINE", "1");
  EXPECT_EQ(resolve_weight_set(set), weights / "fallback-1234.pth");
  // Without the fallback the same directory has nothing for the set.
  set.fallbacks.clear();
  EXPECT_NE(error_of([&] { resolve_weight_set(set); }).find("put shipped.safetensors"),
            std::string::npos);
}

TEST(Resolve, TorchvisionMobileNetOfTheWrongHashIsRefusedOnOneLine) {
  TempDir weights;
  write_fake_pth(weights / "mobilenet_v2-b0353104.pth");
  const std::string actual = sarseg::sha256_file_hex(weights / "mobilenet_v2-b0353104.pth");
  ASSERT_NE(actual.substr(0, 8), "b0353104");
  ScopedEnv dir("SARSEG_WEIGHTS_DIR", weights.path().string());
  ScopedEnv offline("SARSEG_OFFLINE", "1");
  const std::string message = error_of([] { resolve_weights("mobilenet_v2.imagenet"); });
  EXPECT_NE(message.find((weights / "mobilenet_v2-b0353104.pth").string() + " has sha256 " +
                         actual + ", expected one starting b0353104"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(Resolve, OfflineErrorNamesTheShippedFileAndTheTorchvisionFile) {
  TempDir empty;
  ScopedEnv dir("SARSEG_WEIGHTS_DIR", empty.path().string());
  ScopedEnv offline("SARSEG_OFFLINE", "1");
  const std::string message = error_of([] { resolve_weights("mobilenet_v2.imagenet"); });
  EXPECT_NE(message.find("put mobilenet_v2_1.0_224_imagenet_tv.safetensors (sha256 d611fc40"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(" or mobilenet_v2-b0353104.pth (sha256 starting b0353104) into " +
                         empty.path().string()),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("download from "
                         "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth failed: "
                         "SARSEG_OFFLINE is set"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_EQ(file_count(empty.path()), 0u);
}
