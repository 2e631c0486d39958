// Per-signal `queries: {source: PromQL}` (INTEGRATIONS §1): part of the
// hashed, versioned content; checked against configured sources on demand.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "backstop/policy/threshold_parser.hpp"

namespace backstop::policy {
namespace {

constexpr const char* kMinimal = R"(release_class: web
version: 1
reversibility: reversible_with_state
automation: auto
evaluation:
  window: 5m
  min_samples: 20
signals:
  - name: http_5xx_ratio
    max: 0.05
)";

std::string WithQueries(const std::string& queries) { return std::string(kMinimal) + "    queries:\n" + queries; }

ThresholdSet MustParse(const std::string& text) {
  ParseResult result = ParseThresholdYaml(text, "web.yaml");
  if (!result.set) {
    for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
    return {};
  }
  return *result.set;
}

std::vector<std::string> ErrorsOf(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& e : ParseThresholdYaml(text, "web.yaml").errors) out.push_back(e.ToString());
  return out;
}

TEST(ThresholdQueriesTest, ReadsQueriesBySourceAndTrimsAFoldedBlock) {
  const ThresholdSet set = MustParse(WithQueries(
      "      prom-main: >\n"
      "        sum by (service, namespace, version) (rate(http_requests_total{code=~\"5..\"}[1m]))\n"
      "        / sum by (service, namespace, version) (rate(http_requests_total[1m]))\n"
      "      prom-replica: job:http_5xx_ratio:rate1m\n"));
  EXPECT_EQ(set.signals[0].queries,
            (std::map<std::string, std::string>{
                {"prom-main",
                 "sum by (service, namespace, version) (rate(http_requests_total{code=~\"5..\"}[1m])) / sum by "
                 "(service, namespace, version) (rate(http_requests_total[1m]))"},
                {"prom-replica", "job:http_5xx_ratio:rate1m"}}));
}

TEST(ThresholdQueriesTest, LeavesTheCanonicalJsonOfASetWithoutQueriesAsItWas) {
  const std::string json = CanonicalJson(MustParse(kMinimal));
  EXPECT_EQ(json.find("queries"), std::string::npos);
  // The hash every set stored before queries existed carries.
  EXPECT_EQ(json,
            "{\"release_class\":\"web\",\"version\":1,\"description\":\"\",\"reversibility\":\"reversible_with_"
            "state\",\"automation\":\"auto\",\"blast_radius\":{\"max_traffic_percent\":25,\"allow_shared_"
            "infrastructure\":false},\"budget\":{\"max_auto_rollbacks\":5,\"per\":\"1h\"},\"approval\":{\"ttl\":"
            "\"2h\"},\"evaluation\":{\"window\":\"5m\",\"min_samples\":20,\"max_staleness\":\"1m\",\"breach_for\":"
            "\"30s\",\"duration\":\"30m\",\"flap_limit\":3},\"signals\":[{\"name\":\"http_5xx_ratio\",\"critical\":"
            "true,\"aggregate\":\"mean\",\"bad_when\":\"above\",\"max\":0.05,\"sources_tolerance\":0.5}]}");
}

TEST(ThresholdQueriesTest, MakesQueriesPartOfTheHashedContent) {
  const ThresholdSet without = MustParse(kMinimal);
  const ThresholdSet a = MustParse(WithQueries("      prom: job:http_5xx_ratio:rate1m\n"));
  const ThresholdSet b = MustParse(WithQueries("      prom: job:http_5xx_ratio:rate5m\n"));
  EXPECT_NE(ContentSha256(without), ContentSha256(a));
  EXPECT_NE(ContentSha256(a), ContentSha256(b));
  EXPECT_NE(CanonicalJson(a).find(R"("queries":{"prom":"job:http_5xx_ratio:rate1m"})"), std::string::npos)
      << CanonicalJson(a);
}

TEST(ThresholdQueriesTest, HashesTheSameQueriesInAnyOrderAlike) {
  const ThresholdSet a = MustParse(WithQueries("      a: x\n      b: y\n"));
  const ThresholdSet b = MustParse(WithQueries("      b: y\n      a: x\n"));
  EXPECT_EQ(ContentSha256(a), ContentSha256(b));
}

TEST(ThresholdQueriesTest, RoundTripsThroughTheCanonicalJson) {
  const ThresholdSet set = MustParse(WithQueries(
      "      prom: \"sum(rate(x{code=~\\\"5..\\\",path=\\\"/a\\\\\\\\b\\\"}[1m])) / 2\"\n      other: y\n"));
  const ParseResult again = ParseThresholdYaml(CanonicalJson(set), "stored");
  ASSERT_TRUE(again.set) << (again.errors.empty() ? "" : again.errors[0].ToString());
  EXPECT_EQ(*again.set, set);
}

TEST(ThresholdQueriesTest, RefusesAnEmptyQueryABadSourceNameAndAListOfQueries) {
  EXPECT_EQ(ErrorsOf(WithQueries("      prom: \"  \"\n")),
            std::vector<std::string>{"web.yaml: signals[0].queries.prom: must not be empty"});
  EXPECT_EQ(ErrorsOf(WithQueries("      \"prom main\": x\n")),
            std::vector<std::string>{
                "web.yaml: signals[0].queries.prom main: source name must be 1-128 characters of [A-Za-z0-9._:-]"});
  EXPECT_EQ(ErrorsOf(WithQueries("      - x\n")),
            std::vector<std::string>{"web.yaml: signals[0].queries: must be a map of telemetry source name to query"});
  EXPECT_EQ(ErrorsOf(WithQueries("      prom: x\n      prom: y\n")),
            std::vector<std::string>{"web.yaml: signals[0].queries.prom: duplicate key"});
  EXPECT_EQ(ErrorsOf(WithQueries("      prom: [x]\n")),
            std::vector<std::string>{"web.yaml: signals[0].queries.prom: must be a string"});
}

TEST(ThresholdQueriesTest, RefusesAQueryOverSixteenKiB) {
  EXPECT_EQ(ErrorsOf(WithQueries("      prom: " + std::string(16 * 1024 + 1, 'x') + "\n")),
            std::vector<std::string>{"web.yaml: signals[0].queries.prom: must be at most 16384 bytes"});
}

TEST(ThresholdQueriesTest, ChecksQuerySourcesAgainstTheConfiguredOnes) {
  const ThresholdSet set = MustParse(WithQueries("      prom-main: x\n      prom-old: y\n"));
  EXPECT_TRUE(CheckQuerySources(set, "web.yaml", {"prom-main", "prom-old"}).empty());
  const auto errors = CheckQuerySources(set, "web.yaml", {"prom-main", "prom-b"});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].ToString(),
            "web.yaml: signals[0].queries.prom-old: unknown telemetry source \"prom-old\" (configured: prom-main, "
            "prom-b)");
  EXPECT_EQ(CheckQuerySources(set, "web.yaml", {})[0].reason,
            "unknown telemetry source \"prom-main\" (configured: none)");
}

}  // namespace
}  // namespace backstop::policy
