#include "backstop/config/glob.hpp"

#include <gtest/gtest.h>

namespace backstop::config {
namespace {

TEST(GlobTest, LiteralPatternMatchesOnlyItself) {
  EXPECT_TRUE(GlobMatch("payments", "payments"));
  EXPECT_FALSE(GlobMatch("payments", "payment"));
  EXPECT_FALSE(GlobMatch("payments", "payments-api"));
  EXPECT_FALSE(GlobMatch("Payments", "payments"));
}

TEST(GlobTest, StarAloneMatchesEverythingIncludingEmpty) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything at all"));
  EXPECT_TRUE(GlobMatch("**", "x"));
}

TEST(GlobTest, EmptyPatternMatchesOnlyEmptyText) {
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
}

TEST(GlobTest, TrailingStarMatchesPrefix) {
  EXPECT_TRUE(GlobMatch("payments-*", "payments-api"));
  EXPECT_TRUE(GlobMatch("payments-*", "payments-"));
  EXPECT_FALSE(GlobMatch("payments-*", "payments"));
  EXPECT_FALSE(GlobMatch("payments-*", "billing-api"));
}

TEST(GlobTest, LeadingAndInnerStarsMatchAnyRun) {
  EXPECT_TRUE(GlobMatch("*-api", "payments-api"));
  EXPECT_FALSE(GlobMatch("*-api", "payments-api-v2"));
  EXPECT_TRUE(GlobMatch("a*b*c", "abc"));
  EXPECT_TRUE(GlobMatch("a*b*c", "a-x-b-y-c"));
  EXPECT_FALSE(GlobMatch("a*b*c", "a-x-c-y-b"));
}

TEST(GlobTest, StarBacktracksPastPartialMatches) {
  EXPECT_TRUE(GlobMatch("*ab", "aaab"));
  EXPECT_TRUE(GlobMatch("*aab", "aaaab"));
  EXPECT_TRUE(GlobMatch("a*aab", "aaaab"));
  EXPECT_FALSE(GlobMatch("*aab", "aaaba"));
}

TEST(GlobTest, QuestionMarkMatchesExactlyOneCharacter) {
  EXPECT_TRUE(GlobMatch("svc-?", "svc-1"));
  EXPECT_FALSE(GlobMatch("svc-?", "svc-"));
  EXPECT_FALSE(GlobMatch("svc-?", "svc-12"));
  EXPECT_TRUE(GlobMatch("?*", "x"));
  EXPECT_FALSE(GlobMatch("?*", ""));
}

TEST(GlobTest, SlashAndBracketsAreOrdinaryCharacters) {
  EXPECT_TRUE(GlobMatch("team/*", "team/payments/api"));
  EXPECT_TRUE(GlobMatch("[abc]", "[abc]"));
  EXPECT_FALSE(GlobMatch("[abc]", "a"));
}

TEST(GlobTest, LiteralStarInTextIsMatchedByWildcards) {
  EXPECT_TRUE(GlobMatch("a?c", "a*c"));
  EXPECT_TRUE(GlobMatch("a*", "a*"));
}

}  // namespace
}  // namespace backstop::config
