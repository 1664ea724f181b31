#include "sarseg/util/strings.h"

#include <gtest/gtest.h>

#include "sarseg/util/error.h"

namespace sarseg {

TEST(Strings, SplitJoinTrim) {
  EXPECT_EQ(split("a,b,,c", ','), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(join({"x", "y"}, ", "), "x, y");
  EXPECT_EQ(trim("  hh_db \n"), "hh_db");
}

TEST(Strings, ClosestMatchesRankByEditDistance) {
  const auto best = closest_matches("resnet19", {"mobilenet_v2", "resnet18", "resnet34"}, 2);
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0], "resnet18");
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Strings, ParseSize) {
  EXPECT_EQ(parse_size("256x320", "--size"), std::make_pair(256, 320));
  EXPECT_EQ(parse_size("64", "--size"), std::make_pair(64, 64));
  EXPECT_THROW(parse_size("0x5", "--size"), UserError);
  EXPECT_THROW(parse_size("12xq", "--size"), UserError);
  EXPECT_THROW(parse_size("1x2x3", "--size"), UserError);
}

}  // namespace sarseg
