#include <gtest/gtest.h>

#include "sarseg/data/task.h"
#include "sarseg/util/error.h"

using namespace sarseg;

TEST(Task, ParsesShortAndFullForms) {
  const auto sod = data::parse_task("SOD:6", "data.tasks");
  EXPECT_EQ(sod.label, "SOD");
  EXPECT_EQ(sod.classes, 6);
  EXPECT_FALSE(sod.regression);
  EXPECT_DOUBLE_EQ(sod.weight, 1.0);
  const auto sic = data::parse_task("SIC:11:mse:2.5", "data.tasks");
  EXPECT_TRUE(sic.regression);
  EXPECT_DOUBLE_EQ(sic.weight, 2.5);
  EXPECT_EQ(data::format_task(sic), "SIC:11:mse:2.5");
  EXPECT_EQ(data::parse_task(data::format_task(sod), "x").classes, 6);
}

TEST(Task, RejectsMalformed) {
  EXPECT_THROW(data::parse_task("SOD", "data.tasks"), UserError);
  EXPECT_THROW(data::parse_task("SOD:x", "data.tasks"), UserError);
  EXPECT_THROW(data::parse_task("SOD:6:focal", "data.tasks"), UserError);
  EXPECT_THROW(data::parse_task("SOD:300", "data.tasks"), UserError);
  EXPECT_THROW(data::parse_task("SOD:1", "data.tasks"), UserError);  // CE needs 2 classes
  EXPECT_THROW(data::parse_tasks({"SOD:6", "SOD:3"}, "data.tasks"), UserError);
  EXPECT_THROW(data::parse_tasks({}, "data.tasks"), UserError);
  try {
    data::parse_task("SOD:x", "data.tasks");
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("data.tasks"), std::string::npos);
  }
}
