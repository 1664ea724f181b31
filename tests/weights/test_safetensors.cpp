// safetensors reading and writing: round trips of every dtype, the shipped weight file, and
// each kind of malformed file refused with a message naming the file and the tensor.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/weights/state_dict.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using sarseg::UserError;
using sarseg::testing::TempDir;
using namespace sarseg::weights;

namespace {

// Builds a safetensors file from a header given as JSON text and a data section.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  const uint64_t length = header.size();
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return bytes + header + data;
}

// Runs `read_safetensors` on `bytes` and returns the UserError message ("" when none).
std::string read_error(const TempDir& dir, const std::string& bytes) {
  const fs::path path = dir / "bad.safetensors";
  sarseg::write_file_atomically(path, bytes);
  try {
    read_safetensors(path);
  } catch (const UserError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST(Safetensors, RoundTripsEveryDtype) {
  TempDir dir;
  torch::manual_seed(3);
  StateDict tensors;
  tensors.emplace_back("f32", torch::randn({2, 3}));
  tensors.emplace_back("f64", torch::randn({4}, torch::kFloat64));
  tensors.emplace_back("f16", torch::randn({3, 1, 2}).to(torch::kFloat16));
  tensors.emplace_back("bf16", torch::randn({5}).to(torch::kBFloat16));
  tensors.emplace_back("i64", torch::randint(-1000, 1000, {3}, torch::kInt64));
  tensors.emplace_back("i32", torch::randint(-1000, 1000, {2, 2}, torch::kInt32));
  tensors.emplace_back("i16", torch::randint(-1000, 1000, {2}, torch::kInt16));
  tensors.emplace_back("i8", torch::randint(-100, 100, {7}, torch::kInt8));
  tensors.emplace_back("u8", torch::randint(0, 255, {7}, torch::kUInt8));
  tensors.emplace_back("bool", torch::randint(0, 2, {3}).to(torch::kBool));
  tensors.emplace_back("scalar", torch::tensor(2.5));
  tensors.emplace_back("empty", torch::zeros({0, 4}));
  tensors.emplace_back("strided", torch::arange(12, torch::kFloat32).reshape({3, 4}).t());
  const fs::path path = dir / "all.safetensors";
  write_safetensors(path, tensors, {{"format", "pt"}});

  const StateDict back = read_safetensors(path);
  ASSERT_EQ(back.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(back[i].first, tensors[i].first);  // file order = write order
    EXPECT_EQ(back[i].second.scalar_type(), tensors[i].second.scalar_type()) << back[i].first;
    EXPECT_EQ(back[i].second.sizes(), tensors[i].second.sizes()) << back[i].first;
    EXPECT_TRUE(torch::equal(back[i].second, tensors[i].second)) << back[i].first;
  }
  // Header is 8-byte aligned and carries the metadata.
  const std::string bytes = sarseg::read_file(path);
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  EXPECT_EQ(header_length % 8, 0u);
  const auto header = nlohmann::json::parse(bytes.substr(8, header_length));
  EXPECT_EQ(header["__metadata__"]["format"], "pt");
  EXPECT_EQ(header["f16"]["dtype"], "F16");
}

TEST(Safetensors, ReadsTheShippedMobileNetV2) {
  const fs::path path =
      sarseg::testing::shared_dir() / "pretrained/mobilenet_v2_1.0_224_imagenet_tv.safetensors";
  if (!fs::exists(path)) GTEST_SKIP() << "no " << path;
  const StateDict tensors = read_safetensors(path);
  EXPECT_EQ(tensors.size(), 262u);
  int64_t values = 0;
  for (const auto& [name, tensor] : tensors) {
    values += tensor.numel();
    EXPECT_EQ(tensor.scalar_type(), torch::kFloat32) << name;
  }
  EXPECT_EQ(values, 3538984);  // as documented in pretrained/README.md
}

TEST(Safetensors, RefusesMalformedFiles) {
  TempDir dir;
  const std::string eight_floats(32, '\0');
  struct Case {
    const char* what;
    std::string bytes;
    std::vector<std::string> expected;  // substrings of the message
  };
  const std::vector<Case> cases = {
      {"shorter than the length field", std::string(5, '\0'), {"truncated", "bad.safetensors"}},
      {"header length beyond the file",
       std::string("\x60\0\0\0\0\0\0\0", 8) +
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
       {"header is 96 bytes", "only 54"}},
      {"header length beyond the file (huge)",
       std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}",
       {"header is"}},
      {"truncated data",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})",
                         eight_floats.substr(0, 20)),
       {"'a'", "beyond the end"}},
      {"out-of-range offsets",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[32,40]}})",
                         eight_floats),
       {"'a'", "beyond the end"}},
      {"overlapping offsets",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                         R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                         eight_floats.substr(0, 24)),
       {"'b'", "overlapping tensor 'a'"}},
      {"gap between tensors",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})",
                         eight_floats.substr(0, 24)),
       {"'b'", "gap"}},
      {"trailing bytes",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", eight_floats),
       {"after its last tensor"}},
      {"unknown dtype",
       safetensors_bytes(R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})",
                         eight_floats.substr(0, 8)),
       {"'a'", "unknown dtype 'F33'"}},
      {"shape does not match the offsets",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[3,3],"data_offsets":[0,32]}})",
                         eight_floats),
       {"'a'", "[3, 3]", "36 bytes", "span 32 bytes"}},
      {"negative dimension",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})",
                         eight_floats.substr(0, 8)),
       {"'a'", "shape entry"}},
      {"end before begin",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})",
                         eight_floats.substr(0, 8)),
       {"'a'", "end before begin"}},
      {"overflowing shape",
       safetensors_bytes(
           R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
           eight_floats.substr(0, 8)),
       {"'a'", "too many"}},
      {"not JSON", safetensors_bytes("{nope", ""), {"unreadable JSON"}},
      {"missing offsets",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2]}})", ""),
       {"'a'", "data_offsets"}},
  };
  for (const auto& test_case : cases) {
    const std::string message = read_error(dir, test_case.bytes);
    ASSERT_FALSE(message.empty()) << test_case.what << ": accepted";
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find("bad.safetensors"), std::string::npos) << message;
    for (const auto& part : test_case.expected)
      EXPECT_NE(message.find(part), std::string::npos)
          << test_case.what << ": '" << message << "' lacks '" << part << "'";
  }
}

TEST(Safetensors, MissingFileIsAUserError) {
  EXPECT_THROW(read_safetensors("/nonexistent/x.safetensors"), UserError);
}

TEST(Safetensors, WriteRefusesDuplicateNamesAndLeavesNoFile) {
  TempDir dir;
  const fs::path path = dir / "dup.safetensors";
  StateDict tensors = {{"a", torch::zeros({2})}, {"a", torch::ones({2})}};
  EXPECT_THROW(write_safetensors(path, tensors), UserError);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 0);
}
