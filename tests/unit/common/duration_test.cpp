#include <gtest/gtest.h>

#include "backstop/common/duration.hpp"

namespace backstop {
namespace {

TEST(DurationTest, ParsesEveryUnit) {
  EXPECT_EQ(ParseDuration("500ms"), Millis(500));
  EXPECT_EQ(ParseDuration("30s"), Millis(30000));
  EXPECT_EQ(ParseDuration("5m"), Millis(300000));
  EXPECT_EQ(ParseDuration("2h"), Millis(7200000));
  EXPECT_EQ(ParseDuration("0s"), Millis(0));
}

TEST(DurationTest, RejectsMalformedText) {
  for (const char* bad : {"", "s", "5", "5 s", "-5s", "1.5s", "5d", "5S", "5sec", " 5s", "99999999999999h"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(DurationTest, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(FormatDuration(Millis(7200000)), "2h");
  EXPECT_EQ(FormatDuration(Millis(90000)), "90s");
  EXPECT_EQ(FormatDuration(Millis(300000)), "5m");
  EXPECT_EQ(FormatDuration(Millis(1500)), "1500ms");
  EXPECT_EQ(FormatDuration(Millis(0)), "0s");
}

}  // namespace
}  // namespace backstop
