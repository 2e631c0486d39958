// Reading the Prometheus HTTP API's answer to an instant query.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "backstop/pull/prometheus_response.hpp"

namespace backstop::pull {
namespace {

std::string Vector(const std::string& results) {
  return R"({"status":"success","data":{"resultType":"vector","result":[)" + results + "]}}";
}

std::string Series(const std::string& version, const std::string& value) {
  return R"({"metric":{"service":"checkout","namespace":"prod","version":")" + version +
         R"("},"value":[1767261600.123,")" + value + R"("]})";
}

TEST(PrometheusResponseTest, ReadsAVectorWithLabelsAndValues) {
  const QueryAnswer answer = ParseQueryAnswer(200, Vector(Series("v1", "0.01") + "," + Series("v2", "0.2")));
  ASSERT_EQ(answer.result, PullResult::kOk) << answer.error;
  ASSERT_EQ(answer.series.size(), 2u);
  EXPECT_EQ(answer.series[0].Label("service"), "checkout");
  EXPECT_EQ(answer.series[0].Label("namespace"), "prod");
  EXPECT_EQ(answer.series[0].Label("version"), "v1");
  EXPECT_EQ(answer.series[0].Label("pod"), std::nullopt);
  EXPECT_DOUBLE_EQ(answer.series[0].value, 0.01);
  EXPECT_DOUBLE_EQ(answer.series[1].value, 0.2);
}

TEST(PrometheusResponseTest, ReadsAnEmptyVectorAsASuccessWithoutSeries) {
  const QueryAnswer answer = ParseQueryAnswer(200, Vector(""));
  EXPECT_EQ(answer.result, PullResult::kOk);
  EXPECT_TRUE(answer.series.empty());
}

TEST(PrometheusResponseTest, ReadsNaNAndInfinitiesAsNonFiniteValues) {
  const QueryAnswer answer = ParseQueryAnswer(
      200, Vector(Series("a", "NaN") + "," + Series("b", "+Inf") + "," + Series("c", "-Inf") + "," +
                  Series("d", "1e-07")));
  ASSERT_EQ(answer.result, PullResult::kOk) << answer.error;
  ASSERT_EQ(answer.series.size(), 4u);
  EXPECT_TRUE(std::isnan(answer.series[0].value));
  EXPECT_EQ(answer.series[1].value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(answer.series[2].value, -std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(answer.series[3].value, 1e-07);
  EXPECT_EQ(answer.series[3].value_text, "1e-07");
}

TEST(PrometheusResponseTest, ParsesSampleValueTexts) {
  EXPECT_EQ(ParseSampleValue("0.05"), 0.05);
  EXPECT_EQ(ParseSampleValue("1e-07"), 1e-07);
  EXPECT_EQ(ParseSampleValue("1.5E+3"), 1500.0);
  EXPECT_EQ(ParseSampleValue("-2"), -2.0);
  EXPECT_EQ(ParseSampleValue("Inf"), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(*ParseSampleValue("NaN")));
  for (const char* bad : {"", "+1", "nan", "inf", "0x10", "1 ", "1,5", "--1", "1e", "abc"}) {
    EXPECT_EQ(ParseSampleValue(bad), std::nullopt) << bad;
  }
}

TEST(PrometheusResponseTest, RefusesAMatrixAsAQueryErrorNamingTheType) {
  const QueryAnswer answer = ParseQueryAnswer(
      200, R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}})");
  EXPECT_EQ(answer.result, PullResult::kQueryError);
  EXPECT_NE(answer.error.find("matrix"), std::string::npos) << answer.error;
  EXPECT_TRUE(answer.series.empty());
}

TEST(PrometheusResponseTest, RefusesAScalarAndAString) {
  EXPECT_EQ(ParseQueryAnswer(200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"2"]}})").result,
            PullResult::kQueryError);
  EXPECT_EQ(ParseQueryAnswer(200, R"({"status":"success","data":{"resultType":"string","result":[1,"x"]}})").result,
            PullResult::kQueryError);
}

TEST(PrometheusResponseTest, ReadsTheErrorEnvelopeOfABadQuery) {
  const QueryAnswer answer = ParseQueryAnswer(
      400, R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"})");
  EXPECT_EQ(answer.result, PullResult::kQueryError);
  EXPECT_EQ(answer.error, "HTTP 400: bad_data: 1:5: parse error: unclosed left parenthesis");
}

TEST(PrometheusResponseTest, ClassifiesErrorsByStatusAndErrorType) {
  EXPECT_EQ(ParseQueryAnswer(422, R"({"status":"error","errorType":"execution","error":"x"})").result,
            PullResult::kQueryError);
  EXPECT_EQ(ParseQueryAnswer(503, R"({"status":"error","errorType":"timeout","error":"query timed out"})").result,
            PullResult::kTimeout);
  EXPECT_EQ(ParseQueryAnswer(503, R"({"status":"error","errorType":"unavailable","error":"x"})").result,
            PullResult::kUnavailable);
  EXPECT_EQ(ParseQueryAnswer(502, "<html>Bad Gateway</html>").result, PullResult::kUnavailable);
  EXPECT_EQ(ParseQueryAnswer(401, "Unauthorized").result, PullResult::kHttpError);
  EXPECT_EQ(ParseQueryAnswer(404, "404 page not found").error, "HTTP 404");
  // A 200 that says error is still an error.
  EXPECT_EQ(ParseQueryAnswer(200, R"({"status":"error","errorType":"bad_data","error":"x"})").result,
            PullResult::kQueryError);
  EXPECT_EQ(ParseQueryAnswer(200, R"({"status":"error","errorType":"canceled","error":"x"})").result,
            PullResult::kTimeout);
}

TEST(PrometheusResponseTest, FailsAPullThatCarriesWarnings) {
  const QueryAnswer answer = ParseQueryAnswer(
      200, R"({"status":"success","data":{"resultType":"vector","result":[)" + Series("v2", "0.2") +
               R"(]},"warnings":["store gateway unavailable: partial response"]})");
  EXPECT_EQ(answer.result, PullResult::kWarnings);
  EXPECT_EQ(answer.error, "warnings: store gateway unavailable: partial response");
  EXPECT_TRUE(answer.series.empty());
}

TEST(PrometheusResponseTest, IgnoresAnEmptyWarningsArrayAndInfos) {
  const QueryAnswer answer = ParseQueryAnswer(
      200, R"({"status":"success","data":{"resultType":"vector","result":[]},"warnings":[],"infos":["x"]})");
  EXPECT_EQ(answer.result, PullResult::kOk);
}

TEST(PrometheusResponseTest, RefusesAnswersThatAreNotTheEnvelope) {
  EXPECT_EQ(ParseQueryAnswer(200, "<html>proxy login</html>").result, PullResult::kBadResponse);
  EXPECT_EQ(ParseQueryAnswer(200, "[]").result, PullResult::kBadResponse);
  EXPECT_EQ(ParseQueryAnswer(200, R"({"status":"success"})").result, PullResult::kBadResponse);
  EXPECT_EQ(ParseQueryAnswer(200, R"({"status":"success","data":{"resultType":"vector","result":{}}})").result,
            PullResult::kBadResponse);
  EXPECT_EQ(ParseQueryAnswer(200, Vector(R"({"metric":{},"value":[1,2]})")).result, PullResult::kBadResponse);
  EXPECT_EQ(ParseQueryAnswer(200, Vector(R"({"metric":{},"value":[1,"x"]})")).result, PullResult::kBadResponse);
  EXPECT_EQ(ParseQueryAnswer(200, Vector(R"({"metric":{"a":1},"value":[1,"1"]})")).result,
            PullResult::kBadResponse);
}

TEST(PrometheusResponseTest, NamesEveryResultForMetrics) {
  std::vector<std::string> names;
  for (PullResult r : AllPullResults()) names.emplace_back(ToString(r));
  EXPECT_EQ(names, (std::vector<std::string>{"ok", "query_error", "unavailable", "timeout", "http_error",
                                             "bad_response", "warnings"}));
}

}  // namespace
}  // namespace backstop::pull
