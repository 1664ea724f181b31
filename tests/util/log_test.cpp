#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "sarseg/util/log.h"

namespace sarseg::log {
namespace {

TEST(LogFormat, FillsPlaceholdersInOrder) {
  EXPECT_EQ(format("run {}/{} ({}) done", {3, int64_t{6}, std::string("imagenet")}),
            "run 3/6 (imagenet) done");
}

TEST(LogFormat, AppliesFixedAndGeneralPrecision) {
  EXPECT_EQ(format("loss {:.4f} lr {:.3g} eta {:.0f}s", {0.123456, 0.00015, 41.7}),
            "loss 0.1235 lr 0.00015 eta 42s");
}

TEST(LogFormat, LeavesUnfilledAndForeignBracesAlone) {
  EXPECT_EQ(format("{} and {}", {1}), "1 and {}");
  EXPECT_EQ(format("json {\"a\": 1} {}", {2}), "json {\"a\": 1} 2");
  EXPECT_EQ(format("no placeholders", {}), "no placeholders");
  EXPECT_EQ(format("open { only", {5}), "open { only");
}

}  // namespace
}  // namespace sarseg::log
