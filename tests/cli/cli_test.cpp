// The command line contract: --version, --help, exit codes for usage errors, `sarseg models`.
#include <gtest/gtest.h>

#include "sarseg/models/decoders.h"
#include "support/test_support.h"

namespace sarseg {

TEST(Cli, VersionPrintsAndExitsZero) {
  const auto result = testing::run_sarseg("--version");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("sarseg "), std::string::npos);
  EXPECT_NE(result.output.find("LibTorch"), std::string::npos);
}

TEST(Cli, UnknownSubcommandIsUsageErrorOnOneLine) {
  const auto result = testing::run_sarseg("no-such-command");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("sarseg: error:"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find('\n'), result.output.size() - 1) << result.output;
}

TEST(Cli, HelpListsOptionsWithDefaults) {
  const auto result = testing::run_sarseg("--help");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.output.find("--threads"), std::string::npos);
  EXPECT_NE(result.output.find("info"), std::string::npos) << "default of --log-level shown";
}

TEST(Cli, ModelsListsEveryRegisteredDecoder) {
  const auto result = testing::run_sarseg("models");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  for (const auto& info : models::decoder_registry()) {
    EXPECT_NE(result.output.find(info.name), std::string::npos) << info.name;
    EXPECT_NE(result.output.find(info.description), std::string::npos) << info.name;
  }
}

}  // namespace sarseg
