#include <gtest/gtest.h>

#include "test_support.hpp"

namespace backstop::testing {
namespace {

std::string Sample(const std::string& fields) {
  return R"({"service":"checkout","environment":"prod","version":"v2","signal":"http_5xx_ratio","value":0.1)" +
         fields + "}";
}

TEST(TelemetryTest, GoodSamplesAreAcceptedAndBadOnesRejectedByIndex) {
  TestServer server;
  const std::string token = server.Token("pipe", Role::kTelemetry);
  const std::string body = R"({"samples":[)" + Sample("") + "," +
                           R"({"service":"checkout","environment":"prod","version":"v2","signal":"x"})" + "," +
                           Sample(R"(,"source":"lb","timestamp":"2026-11-22T10:00:00.5+01:00")") + "," +
                           Sample(R"(,"timestamp":"2999-01-01T00:00:00Z")") + "," +
                           Sample(R"(,"timestamp":"yesterday")") + "," +
                           R"({"service":"bad service","environment":"prod","version":"v2","signal":"s","value":1})" + "," +
                           Sample(R"(,"extra":1)") + "," + "42" + "]}";
  auto r = server.Request("POST", "/v1/telemetry", token, body);
  ASSERT_EQ(r.status, 202) << r.body;
  auto out = ParseJson(r.body).as_object();
  EXPECT_EQ(out.at("accepted").as_int64(), 2);
  const auto& rejected = out.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 6u);
  const int expected_indexes[] = {1, 3, 4, 5, 6, 7};
  const char* expected_fields[] = {"value", "timestamp", "timestamp", "service", "extra", "sample"};
  for (std::size_t i = 0; i < rejected.size(); ++i) {
    EXPECT_EQ(rejected[i].at("index").as_int64(), expected_indexes[i]);
    const std::string error(rejected[i].at("error").as_string());
    EXPECT_NE(error.find(expected_fields[i]), std::string::npos) << error;
  }
}

TEST(TelemetryTest, TooManySamplesIs400LimitExceeded) {
  auto c = TestConfig("");
  c.limits.max_samples_per_request = 3;
  TestServer server(c);
  const std::string token = server.Token("pipe", Role::kTelemetry);
  std::string body = R"({"samples":[)" + Sample("") + "," + Sample("") + "," + Sample("") + "," + Sample("") + "]}";
  auto r = server.Request("POST", "/v1/telemetry", token, body);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "limit_exceeded");
  EXPECT_NE(r.body.find("max_samples_per_request"), std::string::npos);
}

TEST(TelemetryTest, NewSeriesPastTheCapAreRejectedWhileExistingOnesWork) {
  auto c = TestConfig("");
  c.limits.max_series = 2;
  TestServer server(c);
  const std::string token = server.Token("pipe", Role::kTelemetry);
  auto first = server.Request("POST", "/v1/telemetry", token,
                              R"({"samples":[)" + Sample(R"(,"source":"a")") + "," + Sample(R"(,"source":"b")") + "]}");
  EXPECT_EQ(ParseJson(first.body).at("accepted").as_int64(), 2);
  auto second = server.Request("POST", "/v1/telemetry", token,
                               R"({"samples":[)" + Sample(R"(,"source":"c")") + "," + Sample(R"(,"source":"a")") + "]}");
  ASSERT_EQ(second.status, 202);
  auto out = ParseJson(second.body).as_object();
  EXPECT_EQ(out.at("accepted").as_int64(), 1);
  ASSERT_EQ(out.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(out.at("rejected").as_array()[0].at("index").as_int64(), 0);
  EXPECT_NE(std::string(out.at("rejected").as_array()[0].at("error").as_string()).find("series_limit"),
            std::string::npos);
}

TEST(TelemetryTest, OnlyTelemetryWritersMayPost) {
  TestServer server;
  const std::string body = R"({"samples":[)" + Sample("") + "]}";
  EXPECT_EQ(server.Request("POST", "/v1/telemetry", server.Token("d", Role::kDeployer), body).status, 202);
  EXPECT_EQ(server.Request("POST", "/v1/telemetry", server.Token("t", Role::kTelemetry), body).status, 202);
  EXPECT_EQ(server.Request("POST", "/v1/telemetry", server.Token("v", Role::kViewer), body).status, 403);
  EXPECT_EQ(server.Request("POST", "/v1/telemetry", server.Token("a", Role::kApprover), body).status, 403);
  EXPECT_EQ(server.Request("POST", "/v1/telemetry", "", body).status, 401);
  EXPECT_EQ(server.Request("POST", "/v1/telemetry", server.Token("d2", Role::kDeployer), R"({"samples":{}})").status, 400);
}

}  // namespace
}  // namespace backstop::testing
