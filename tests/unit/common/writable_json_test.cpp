#include <gtest/gtest.h>

#include <limits>

#include <boost/json.hpp>

#include "backstop/common/writable_json.hpp"

namespace backstop {
namespace {

TEST(WritableJsonTest, NonFiniteNumbersAndBadBytesAnywhereAreRepairedAndTheRestKept) {
  boost::json::value v = boost::json::object{
      {"ok", 1.5},
      {"inf", std::numeric_limits<double>::infinity()},
      {"list", boost::json::array{"fine", "bad \xff", -std::numeric_limits<double>::infinity(), 7}},
      {"key \xfe", "value"},
  };
  EXPECT_FALSE(IsWritableJson(v));
  MakeWritableJson(v);
  EXPECT_TRUE(IsWritableJson(v));
  const std::string text = boost::json::serialize(v);
  boost::system::error_code ec;
  const boost::json::value back = boost::json::parse(text, ec);
  ASSERT_FALSE(ec) << text;
  EXPECT_EQ(back.at("ok").as_double(), 1.5);
  EXPECT_TRUE(back.at("inf").is_null());
  EXPECT_EQ(back.at("list").at(0).as_string(), "fine");
  EXPECT_EQ(back.at("list").at(1).as_string(), "bad \xEF\xBF\xBD");
  EXPECT_TRUE(back.at("list").at(2).is_null());
  EXPECT_EQ(back.at("list").at(3).as_int64(), 7);
  EXPECT_EQ(back.at("key \xEF\xBF\xBD").as_string(), "value");
}

TEST(WritableJsonTest, ValidValuesAreWritable) {
  EXPECT_TRUE(IsWritableJson(boost::json::parse(R"({"a":[1,2.5,"caf\u00e9",null,true],"b":{}})")));
}

}  // namespace
}  // namespace backstop
