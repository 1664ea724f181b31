// `sarseg weights ...` end to end through the built binary.
#include <gtest/gtest.h>

#include <algorithm>
#include "pickle_writer.h"

#include "sarseg/util/atomic_file.h"
#include "sarseg/util/sha256.h"
#include "sarseg/weights/state_dict.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using sarseg::testing::run_sarseg;
using sarseg::testing::TempDir;

namespace {

const fs::path kFixtures = SARSEG_WEIGHTS_FIXTURES;

fs::path pretrained() {
  return sarseg::testing::shared_dir() / "pretrained";
}

size_t line_count(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST(WeightsCli, CheckPutsACatClassFirstForTheCatPhoto) {
  if (!fs::exists(pretrained() / "test_images/cat.bmp")) GTEST_SKIP() << "no shared data";
  const auto result = run_sarseg("weights check mobilenet_v2.imagenet --image '" +
                                 (pretrained() / "test_images/cat.bmp").string() + "'");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto first = result.output.find("  1. ");
  ASSERT_NE(first, std::string::npos) << result.output;
  const std::string top1 = result.output.substr(first, result.output.find('\n', first) - first);
  const bool cat = top1.find("Egyptian cat") != std::string::npos ||
                   top1.find("tabby") != std::string::npos ||
                   top1.find("tiger cat") != std::string::npos;
  EXPECT_TRUE(cat) << result.output;
  EXPECT_NE(result.output.find("  5. "), std::string::npos) << result.output;
}

TEST(WeightsCli, InspectPrintsNamesShapesAndSha256) {
  const auto result =
      run_sarseg("weights inspect '" + (kFixtures / "tiny_state_dict.pth").string() + "'");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("conv.weight"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("[3, 2, 3, 3]"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("BFloat16"), std::string::npos) << result.output;
  EXPECT_NE(
      result.output.find("sha256   " + sarseg::sha256_file_hex(kFixtures / "tiny_state_dict.pth")),
      std::string::npos)
      << result.output;
}

TEST(WeightsCli, InspectRecognisesTheShippedSet) {
  if (!fs::exists(pretrained())) GTEST_SKIP() << "no shared data";
  const auto result =
      run_sarseg("weights inspect --no-tensors '" +
                 (pretrained() / "mobilenet_v2_1.0_224_imagenet_tv.safetensors").string() + "'");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("262 (Float 262), 3,538,984 values"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("mobilenet_v2.imagenet (hash matches)"), std::string::npos)
      << result.output;
}

TEST(WeightsCli, BadFilesExitTwoWithOneLine) {
  TempDir dir;
  std::string truncated = sarseg::read_file(kFixtures / "tiny_state_dict.safetensors");
  truncated.resize(truncated.size() - 10);
  sarseg::write_file_atomically(dir / "truncated.safetensors", truncated);
  sarseg::testing::write_zip(
      dir / "hostile.pth", {{"archive/data.pkl", sarseg::testing::PickleWriter()
                                                     .proto(2)
                                                     .global("os", "system")
                                                     .text("touch '" + (dir / "ran").string() + "'")
                                                     .op(0x85)
                                                     .op('R')
                                                     .op('.')
                                                     .bytes()}});
  // Header length beyond the file, overlapping offsets, unknown dtype.
  const auto safetensors = [](const std::string& header, size_t data_bytes, uint64_t length) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
      bytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
    return bytes + header + std::string(data_bytes, '\0');
  };
  const std::string overlapping = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                                  R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})";
  const std::string bad_dtype = R"({"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})";
  sarseg::write_file_atomically(dir / "long.safetensors", safetensors("{}", 0, 4096));
  sarseg::write_file_atomically(dir / "overlap.safetensors",
                                safetensors(overlapping, 24, overlapping.size()));
  sarseg::write_file_atomically(dir / "dtype.safetensors",
                                safetensors(bad_dtype, 8, bad_dtype.size()));
  struct Case {
    std::string arguments;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"weights inspect '" + (dir / "long.safetensors").string() + "'", "header is 4096 bytes"},
      {"weights inspect '" + (dir / "overlap.safetensors").string() + "'",
       "overlapping tensor 'a'"},
      {"weights inspect '" + (dir / "dtype.safetensors").string() + "'", "unknown dtype 'F31'"},
      {"weights inspect '" + (dir / "truncated.safetensors").string() + "'", "beyond the end"},
      {"weights inspect '" + (dir / "hostile.pth").string() + "'", "names global os.system"},
      {"weights inspect '" + (dir / "missing.pth").string() + "'", "does not exist"},
      {"weights convert '" + (dir / "hostile.pth").string() + "' '" +
           (dir / "out.safetensors").string() + "'",
       "refused"},
      {"weights check nosuch.imagenet --image x.bmp", "unknown weight set 'nosuch.imagenet'"},
  };
  for (const auto& test_case : cases) {
    const auto result = run_sarseg(test_case.arguments);
    EXPECT_EQ(result.exit_code, 2) << test_case.arguments << "\n" << result.output;
    EXPECT_EQ(line_count(result.output), 1u) << result.output;
    EXPECT_NE(result.output.find("sarseg: error: "), std::string::npos) << result.output;
    EXPECT_NE(result.output.find(test_case.expected), std::string::npos) << result.output;
  }
  EXPECT_FALSE(fs::exists(dir / "ran"));
  EXPECT_FALSE(fs::exists(dir / "out.safetensors"));
}

TEST(WeightsCli, CheckRefusesAShapeMismatchAgainstTheModel) {
  const fs::path shipped = pretrained() / "mobilenet_v2_1.0_224_imagenet_tv.safetensors";
  if (!fs::exists(shipped)) GTEST_SKIP() << "no shared data";
  TempDir dir;
  auto tensors = sarseg::weights::read_safetensors(shipped);
  for (auto& [name, tensor] : tensors)
    if (name == "features.0.0.weight") tensor = tensor.sum(1, /*keepdim=*/true);  // 1-band stem
  sarseg::weights::write_safetensors(dir / "one_band.safetensors", tensors);
  const auto result = run_sarseg("weights check '" + (dir / "one_band.safetensors").string() +
                                 "' --arch mobilenet_v2 --image '" +
                                 (pretrained() / "test_images/cat.bmp").string() + "'");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_EQ(line_count(result.output), 1u) << result.output;
  EXPECT_NE(result.output.find("'features.0.0.weight' has shape [32, 1, 3, 3]"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("[32, 3, 3, 3]"), std::string::npos) << result.output;
}

TEST(WeightsCli, CheckRefusesWeightsOfTheWrongShape) {
  if (!fs::exists(pretrained() / "test_images/cat.bmp")) GTEST_SKIP() << "no shared data";
  // The tiny fixture is no mobilenet_v2: a clear error, exit 2.
  const auto result =
      run_sarseg("weights check '" + (kFixtures / "tiny_state_dict.safetensors").string() +
                 "' --image '" + (pretrained() / "test_images/cat.bmp").string() + "'");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_EQ(line_count(result.output), 1u) << result.output;
}

TEST(WeightsCli, ConvertWritesASafetensorsTwinOfAPth) {
  TempDir dir;
  const fs::path out = dir / "tiny.safetensors";
  const auto result =
      run_sarseg("weights convert '" + (kFixtures / "tiny_state_dict.pth").string() + "' '" +
                 out.string() + "'");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto converted = sarseg::weights::read_safetensors(out);
  const auto twin = sarseg::weights::read_safetensors(kFixtures / "tiny_state_dict.safetensors");
  ASSERT_EQ(converted.size(), twin.size());
  for (size_t i = 0; i < twin.size(); ++i) {
    EXPECT_EQ(converted[i].first, twin[i].first);
    EXPECT_TRUE(torch::equal(converted[i].second, twin[i].second)) << twin[i].first;
  }
}

TEST(WeightsCli, ListShowsEverySet) {
  const auto result = run_sarseg("weights list");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* name :
       {"mobilenet_v2.imagenet", "resnet18.imagenet", "resnet34.imagenet", "resnet50.imagenet",
        "Apache-2.0", "BSD-3-Clause", "https://download.pytorch.org/models/resnet50-0676ba61.pth"})
    EXPECT_NE(result.output.find(name), std::string::npos) << name << "\n" << result.output;
}
