#include <gtest/gtest.h>

#include <string>

#include "backstop/common/utf8.hpp"

namespace backstop {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8Test, WellFormedTextIsValidAndUnchanged) {
  for (const std::string s : {"", "plain ascii", "caf\xC3\xA9", "\xE2\x80\x94 dash", "\xF0\x9F\x9A\x80 rocket",
                              "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(IsValidUtf8(s)) << s;
    EXPECT_EQ(ToValidUtf8(s), s);
  }
}

TEST(Utf8Test, PathBytesOfTheIssueBecomeReplacementCharacters) {
  EXPECT_FALSE(IsValidUtf8("no release \xff\xfe"));
  EXPECT_EQ(ToValidUtf8("no release \xff\xfe"), "no release " + kFffd + kFffd);
}

TEST(Utf8Test, EachIllFormedShapeIsReplacedByMaximalSubpart) {
  EXPECT_EQ(ToValidUtf8("a\x80" "b"), "a" + kFffd + "b");            // stray continuation
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), kFffd + kFffd);                  // overlong '/'
  EXPECT_EQ(ToValidUtf8("\xE0\x80\xAF"), kFffd + kFffd + kFffd);      // overlong, 3 bytes
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);      // a surrogate
  EXPECT_EQ(ToValidUtf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // above U+10FFFF
  EXPECT_EQ(ToValidUtf8("\xE2\x80"), kFffd);                          // truncated at the end
  EXPECT_EQ(ToValidUtf8("\xE2\x80x"), kFffd + "x");                   // truncated before ASCII
  EXPECT_EQ(ToValidUtf8("\xF0\x9F\x9A"), kFffd);                      // a 4-byte sequence cut short
  EXPECT_EQ(ToValidUtf8("\xF5\xFF"), kFffd + kFffd);
  for (const std::string s : {"a\x80" "b", "\xC0\xAF", "\xED\xA0\x80", "\xE2\x80", "\xff"}) {
    EXPECT_FALSE(IsValidUtf8(s));
    EXPECT_TRUE(IsValidUtf8(ToValidUtf8(s)));
  }
}

}  // namespace
}  // namespace backstop
