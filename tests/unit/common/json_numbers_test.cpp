#include <gtest/gtest.h>

#include <set>
#include <string>

#include <boost/json.hpp>

#include "backstop/common/json_numbers.hpp"

namespace backstop {
namespace {

using Keys = std::set<std::string>;

TEST(JsonNumbersTest, NumbersBeyondTheDoubleRangeAreNonFiniteWhereverTheyLie) {
  for (const char* text : {"1e309", "-1e309", "1e400", "0.1e99999", R"({"a":[1,{"b":1e309}]})"}) {
    EXPECT_TRUE(HasNonFiniteNumber(boost::json::parse(text))) << text;
  }
  for (const char* text : {"1.7e308", "-1.7e308", "4.9e-324", "1e-400", R"({"a":[1,{"b":"1e309"}]})", "null"}) {
    EXPECT_FALSE(HasNonFiniteNumber(boost::json::parse(text))) << text;
  }
}

TEST(JsonNumbersTest, IntegerLiteralsBeyond64BitsAreFoundUnderTheirTopLevelKey) {
  EXPECT_EQ(KeysWithOversizedIntegers(R"({"a":1234567890123456789012345678901234567890})"), Keys{"a"});
  EXPECT_EQ(KeysWithOversizedIntegers(R"({"a":1,"m":{"x":[2,{"y":-9223372036854775809}]},"z":3})"), Keys{"m"});
  EXPECT_EQ(KeysWithOversizedIntegers(R"({"m":18446744073709551616})"), Keys{"m"});
  EXPECT_EQ(KeysWithOversizedIntegers(R"({ "a" : [ 99999999999999999999 ] , "b" : 99999999999999999999 })"),
            (Keys{"a", "b"}));
}

TEST(JsonNumbersTest, WhatA64BitIntegerOrADoubleHoldsIsNotOversized) {
  EXPECT_TRUE(KeysWithOversizedIntegers(
                  R"({"a":18446744073709551615,"b":-9223372036854775808,"c":1e39,"d":1.5,"e":0,"f":-0.0})")
                  .empty());
  // Digits inside strings, keys or escapes are text, not numbers.
  EXPECT_TRUE(KeysWithOversizedIntegers(
                  R"({"12345678901234567890123":"99999999999999999999999","s":"a\"99999999999999999999999"})")
                  .empty());
}

TEST(JsonNumbersTest, EscapedKeysAreNamedDecoded) {
  EXPECT_EQ(KeysWithOversizedIntegers(R"({"meta\u0064ata":{"n":99999999999999999999999}})"), Keys{"metadata"});
}

}  // namespace
}  // namespace backstop
