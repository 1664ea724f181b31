// `sarseg bench peak` end to end: its JSON, and a clear refusal of bf16 where the CPU lacks it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "sarseg/bench/peak.h"
#include "support/test_support.h"

namespace sarseg {

TEST(BenchPeakCli, JsonReportsAPositivePeakPerThreadCount) {
  const auto result = testing::run_sarseg("--threads 2 bench peak --json --seconds 0.05");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // The JSON object is the last line; log lines (stderr, merged here) may come before it.
  const auto start = result.output.rfind("\n{");
  const auto json =
      nlohmann::json::parse(result.output.substr(start == std::string::npos ? 0 : start + 1));
  EXPECT_EQ(json.at("tool"), "sarseg");
  EXPECT_FALSE(json.at("machine").get<std::string>().empty());
  EXPECT_EQ(json.at("cases").size() % bench::default_peak_shapes("cpu").size(), 0u);
  bool two_threads = false, one_thread = false;
  for (const auto& peak : json.at("peaks")) {
    EXPECT_GT(peak.at("gflops").get<double>(), 0.0);
    if (peak.at("dtype") == "fp32" && peak.at("threads") == 2) two_threads = true;
    if (peak.at("dtype") == "fp32" && peak.at("threads") == 1) one_thread = true;
  }
  EXPECT_TRUE(two_threads) << result.output;
  EXPECT_TRUE(one_thread) << result.output;
}

TEST(BenchPeakCli, Bf16OnACpuWithoutItIsAUsageError) {
  if (bench::cpu_has_bf16()) GTEST_SKIP() << "this CPU has native bf16";
  const auto result = testing::run_sarseg("bench peak --dtype bf16");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("avx512_bf16"), std::string::npos) << result.output;
}

TEST(BenchPeakCli, UnknownDtypeIsAUsageError) {
  const auto result = testing::run_sarseg("bench peak --dtype fp8");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("--dtype"), std::string::npos) << result.output;
}

// `bench model` and `bench predict` on tiny inputs: the figures bench/compare reads are printed
// and positive; an unknown device is a usage error.
TEST(BenchModelCli, PrintsForwardAndTrainingThroughput) {
  const auto result = testing::run_sarseg(
      "--threads 1 bench model --encoder resnet18 --decoder deeplabv3 --size 64 --batch 1 "
      "--iterations 1 --warmup 0");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("forward (eval, no grad):"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("forward+backward (train):"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("FLOPs per image"), std::string::npos);
  const auto unknown = testing::run_sarseg("bench model --size 64 --batch 1 --device tpu");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("cpu, cuda"), std::string::npos) << unknown.output;
}

TEST(BenchPredictCli, PrintsARowPerSizeWithPeakMemory) {
  const auto result = testing::run_sarseg(
      "--threads 1 bench predict --size 70x90,100 --tile 64 --overlap 8 --classes 3");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("| 70x90 | "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("| 100x100 | "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("MiB"), std::string::npos) << result.output;
}

TEST(BenchPredictCli, Int8OnThePaperModelOnly) {
  const auto result = testing::run_sarseg(
      "--threads 1 bench predict --size 100 --tile 64 --overlap 8 --classes 3 --precision int8");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("\"resolved_precision\":\"int8\""), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("| 100x100 | "), std::string::npos) << result.output;
  const auto unet = testing::run_sarseg(
      "--threads 1 bench predict --size 100 --encoder mobilenet_v2 --decoder unet --precision "
      "int8");
  EXPECT_EQ(unet.exit_code, 2) << unet.output;
  EXPECT_NE(unet.output.find("mobilenet_v2+unet"), std::string::npos) << unet.output;
}

}  // namespace sarseg
