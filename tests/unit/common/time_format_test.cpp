#include <gtest/gtest.h>

#include "backstop/common/identifiers.hpp"
#include "backstop/common/time_format.hpp"

namespace backstop {
namespace {

TEST(TimeFormatTest, FormatsUtcWithMilliseconds) {
  const auto t = ParseRfc3339("2026-11-22T10:00:00.123456Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-22T10:00:00.123Z");
}

TEST(TimeFormatTest, AcceptsNumericOffsetsAndAnyFractionLength) {
  EXPECT_EQ(ParseRfc3339("2026-11-22T12:00:00+02:00"), ParseRfc3339("2026-11-22T10:00:00Z"));
  EXPECT_EQ(ParseRfc3339("2026-11-22T05:30:00-04:30"), ParseRfc3339("2026-11-22T10:00:00Z"));
  EXPECT_EQ(ParseRfc3339("2026-11-22T10:00:00.5Z"), ParseRfc3339("2026-11-22T10:00:00.500000000Z"));
  EXPECT_TRUE(ParseRfc3339("2026-11-22T10:00:00.123456789123Z").has_value());
}

TEST(TimeFormatTest, RejectsMalformedTimestamps) {
  for (const char* bad : {"", "2026-11-22", "2026-11-22T10:00:00", "2026-11-22 10:00:00Z",
                          "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-22T25:00:00Z",
                          "2026-11-22T10:00:00.Z", "2026-11-22T10:00:00+2:00", "2026-11-22T10:00:00Zjunk",
                          "1700000000"}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

TEST(IdentifiersTest, AcceptsTheAllowedAlphabetUpTo128) {
  EXPECT_TRUE(IsValidIdentifier("checkout"));
  EXPECT_TRUE(IsValidIdentifier("v2.4.1-rc:1_a"));
  EXPECT_TRUE(IsValidIdentifier(std::string(128, 'a')));
  EXPECT_FALSE(IsValidIdentifier(std::string(129, 'a')));
  EXPECT_FALSE(IsValidIdentifier(""));
  EXPECT_FALSE(IsValidIdentifier("a b"));
  EXPECT_FALSE(IsValidIdentifier("a/b"));
  EXPECT_FALSE(IsValidIdentifier("a;rm"));
  EXPECT_FALSE(IsValidIdentifier("caf\xc3\xa9"));
}

TEST(IdentifiersTest, UuidsAreVersion4AndDistinct) {
  const std::string a = NewUuid();
  const std::string b = NewUuid();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);
  EXPECT_TRUE(IsValidIdentifier(a));
}

}  // namespace
}  // namespace backstop
