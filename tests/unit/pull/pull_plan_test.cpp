// Planning the pulls of one interval and keeping only the series releases need.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "backstop/pull/pull_plan.hpp"

namespace backstop::pull {
namespace {

std::shared_ptr<const policy::ThresholdSet> Set(const std::string& release_class,
                                                std::map<std::string, std::map<std::string, std::string>> queries) {
  auto set = std::make_shared<policy::ThresholdSet>();
  set->release_class = release_class;
  for (auto& [signal, by_source] : queries) {
    policy::SignalRule rule;
    rule.name = signal;
    rule.max = 0.05;
    rule.queries = by_source;
    set->signals.push_back(rule);
  }
  return set;
}

PullRelease Release(const std::string& service, const std::string& version,
                    std::optional<std::string> previous, std::shared_ptr<const policy::ThresholdSet> set) {
  return PullRelease{service, "prod", version, std::move(previous), std::move(set)};
}

ResultSeries Series(const std::string& service, const std::string& version, double value,
                    const std::string& environment_label = "namespace") {
  ResultSeries s;
  s.labels = {{"service", service}, {environment_label, "prod"}, {"version", version}, {"instance", "a:1"}};
  s.value = value;
  return s;
}

const TimePoint kAt = TimePoint(std::chrono::seconds(1767261600));
const config::SourceLabels kLabels{"service", "namespace", "version"};

TEST(PullPlanTest, PlansOneQueryPerSignalOverEveryReleaseNeverOnePerRelease) {
  const auto web = Set("web", {{"http_5xx_ratio", {{"prom", "q5xx"}}}, {"latency_p99", {{"prom", "qlat"}}}});
  std::vector<PullRelease> releases;
  for (int i = 0; i < 1000; ++i) {
    releases.push_back(Release("svc-" + std::to_string(i), "v2", "v1", web));
  }
  const auto plan = PlanQueries("prom", releases);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].signal, "http_5xx_ratio");
  EXPECT_EQ(plan[0].query, "q5xx");
  EXPECT_EQ(plan[0].wanted.size(), 2000u);  // every canary and baseline
  EXPECT_EQ(plan[1].signal, "latency_p99");
  EXPECT_TRUE(plan[1].wanted.count({"svc-7", "prod", "v1"}));
}

TEST(PullPlanTest, PlansOnlyTheQueriesOfTheSource) {
  const auto web = Set("web", {{"http_5xx_ratio", {{"prom-a", "qa"}, {"prom-b", "qb"}}}, {"pushed_only", {}}});
  const auto plan = PlanQueries("prom-b", {Release("checkout", "v2", "v1", web)});
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].query, "qb");
  EXPECT_TRUE(PlanQueries("prom-c", {Release("checkout", "v2", "v1", web)}).empty());
}

TEST(PullPlanTest, GivesTwoClassesThatQueryOneSignalDifferentlyAQueryEach) {
  const auto web = Set("web", {{"http_5xx_ratio", {{"prom", "recording_rule"}}}});
  const auto batch = Set("batch", {{"http_5xx_ratio", {{"prom", "raw_rate"}}}});
  const auto plan = PlanQueries("prom", {Release("a", "v2", "v1", web), Release("b", "v9", std::nullopt, batch),
                                         Release("c", "v3", "v2", web)});
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].query, "raw_rate");
  EXPECT_EQ(plan[0].wanted, (std::set<SeriesKey>{{"b", "prod", "v9"}}));
  EXPECT_EQ(plan[1].query, "recording_rule");
  EXPECT_EQ(plan[1].wanted.size(), 4u);
}

TEST(PullPlanTest, MapsLabelsAndKeepsCanaryAndBaselineSeries) {
  const auto web = Set("web", {{"http_5xx_ratio", {{"prom", "q"}}}});
  const auto plan = PlanQueries("prom", {Release("checkout", "v2", "v1", web)});
  const Selection selection =
      SelectSamples(plan[0], {Series("checkout", "v1", 0.01), Series("checkout", "v2", 0.2)}, kLabels, "prom", kAt);
  ASSERT_EQ(selection.samples.size(), 2u);
  EXPECT_EQ(selection.unmatched, 0);
  const telemetry::IncomingSample& baseline = selection.samples[0];
  EXPECT_EQ(baseline.service, "checkout");
  EXPECT_EQ(baseline.environment, "prod");
  EXPECT_EQ(baseline.version, "v1");
  EXPECT_EQ(baseline.signal, "http_5xx_ratio");
  EXPECT_EQ(baseline.source, "prom");
  EXPECT_EQ(baseline.sample.at, kAt);
  EXPECT_DOUBLE_EQ(baseline.sample.value, 0.01);
  EXPECT_EQ(selection.samples[1].version, "v2");
}

TEST(PullPlanTest, DropsSeriesThatAreNoActiveReleasesCanaryOrBaseline) {
  const auto web = Set("web", {{"http_5xx_ratio", {{"prom", "q"}}}});
  const auto plan = PlanQueries("prom", {Release("checkout", "v2", "v1", web)});
  const Selection selection = SelectSamples(
      plan[0],
      {Series("checkout", "v0", 0.5), Series("search", "v2", 0.5), Series("checkout", "v2", 0.02),
       Series("checkout", "v2", 0.03, "environment")},  // the wrong environment label: unmapped
      kLabels, "prom", kAt);
  ASSERT_EQ(selection.samples.size(), 1u);
  EXPECT_DOUBLE_EQ(selection.samples[0].sample.value, 0.02);
  EXPECT_EQ(selection.unmatched, 3);
}

TEST(PullPlanTest, MakesNoSampleOfANonFiniteValueAndCountsIt) {
  const auto web = Set("web", {{"http_5xx_ratio", {{"prom", "q"}}}});
  const auto plan = PlanQueries("prom", {Release("checkout", "v2", "v1", web)});
  const Selection selection = SelectSamples(
      plan[0],
      {Series("checkout", "v1", std::numeric_limits<double>::quiet_NaN()),
       Series("checkout", "v2", std::numeric_limits<double>::infinity()),
       Series("checkout", "v2", -std::numeric_limits<double>::infinity()), Series("checkout", "v2", 1e-07),
       Series("other", "v2", std::numeric_limits<double>::quiet_NaN())},
      kLabels, "prom", kAt);
  ASSERT_EQ(selection.samples.size(), 1u);
  EXPECT_DOUBLE_EQ(selection.samples[0].sample.value, 1e-07);
  EXPECT_EQ(selection.nonfinite, 3);
  EXPECT_EQ(selection.unmatched, 1);  // an unmatched NaN is only unmatched
}

TEST(PullPlanTest, KeepsEveryPerInstanceSeriesOfOneReleaseAsItsOwnSample) {
  const auto web = Set("web", {{"http_5xx_ratio", {{"prom", "q"}}}});
  const auto plan = PlanQueries("prom", {Release("checkout", "v2", std::nullopt, web)});
  auto a = Series("checkout", "v2", 0.1);
  auto b = Series("checkout", "v2", 0.3);
  b.labels.back().second = "b:1";
  EXPECT_EQ(SelectSamples(plan[0], {a, b}, kLabels, "prom", kAt).samples.size(), 2u);
}

TEST(PullPlanTest, EncodesTheQueryFormWithTimeAndTimeoutInMilliseconds) {
  const TimePoint at = TimePoint(std::chrono::milliseconds(1767261600007));
  EXPECT_EQ(QueryForm("sum(rate(x{code=~\"5..\"}[1m])) / 2", at, Millis(5000)),
            "query=sum%28rate%28x%7Bcode%3D~%225..%22%7D%5B1m%5D%29%29%20%2F%202&time=1767261600.007&timeout=5000ms");
  EXPECT_EQ(FormEncode("a+b&c=d é"), "a%2Bb%26c%3Dd%20%C3%A9");
}

TEST(PullPlanTest, PutsTheQueryApiUnderTheSourcePath) {
  EXPECT_EQ(QueryTarget("/"), "/api/v1/query");
  EXPECT_EQ(QueryTarget(""), "/api/v1/query");
  EXPECT_EQ(QueryTarget("/prometheus"), "/prometheus/api/v1/query");
}

}  // namespace
}  // namespace backstop::pull
