// Telemetry pulled from a real Prometheus (INTEGRATIONS §1, issue 12): the
// test runs an exporter whose error ratios it controls, a Prometheus that
// scrapes it every second, and Backstop pulling one query per signal every
// second. Prometheus and the exporter stop however a test ends.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "backstop/evaluator/evaluator.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/pull/telemetry_puller.hpp"
#include "prometheus_fixture.hpp"
#include "test_support.hpp"
#include "webhook_receiver.hpp"

namespace backstop::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSecretEnv = "BACKSTOP_TEST_WEBHOOK_SECRET";

// The raw rate() style: the 5xx share of requests over the last 5 s, per
// service, namespace and version.
std::string RatioQuery(const std::string& family) {
  return "sum by (service, namespace, version) (rate(" + family + "{code=~\"5..\"}[5s])) / "
         "sum by (service, namespace, version) (rate(" + family + "[5s]))";
}

// An auto class deciding on the newest value (`last`) at once, stale 3 s
// after the newest sample; one signal queried at every source given.
std::string WebClass(const std::vector<std::pair<std::string, std::string>>& queries) {
  std::string yaml =
      "release_class: web\nversion: 1\nreversibility: reversible_with_state\nautomation: auto\n"
      "evaluation:\n  window: 1m\n  min_samples: 3\n  max_staleness: 3s\n  breach_for: 0s\n  duration: 1h\n"
      "signals:\n  - name: http_5xx_ratio\n    aggregate: last\n    max: 0.05\n"
      "    baseline:\n      ratio: 2\n      min_delta: 0.01\n      test: none\n"
      "    sources_tolerance: 0.5\n    queries:\n";
  for (const auto& [source, query] : queries) {
    std::string escaped;
    for (char c : query) {
      if (c == '"' || c == '\\') escaped += '\\';
      escaped += c;
    }
    yaml += "      " + source + ": \"" + escaped + "\"\n";
  }
  return yaml;
}

class PrometheusPullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv(kSecretEnv, "test-secret-value", 1);
    exporter = std::make_unique<MetricsExporter>();
    for (const char* family : {"http_requests_total", "lb_requests_total"}) {
      exporter->SetErrorRatio(family, "v1", 0.01);
      exporter->SetErrorRatio(family, "v2", 0.01);
    }
    prometheus = std::make_unique<PrometheusServer>(exporter->port());
    capture = std::make_shared<LogCapture>();
    spdlog::default_logger()->sinks().push_back(capture);
  }

  void TearDown() override {
    server.reset();  // no thread logs any more
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), capture), sinks.end());
    prometheus.reset();
    exporter.reset();
  }

  // Starts Backstop with the class and one source per name, all reading the
  // test's Prometheus every second.
  void Start(const std::string& class_yaml, const std::vector<std::string>& sources) {
    dir.Write("web.yaml", class_yaml);
    auto c = TestConfig("");
    c.thresholds_dir = dir.path();
    c.evaluation_tick = Millis(200);
    c.executors = {WebhookExecutor(receiver.url(), kSecretEnv)};
    for (const auto& name : sources) {
      config::TelemetrySourceConfig source;
      source.name = name;
      source.url = prometheus->url();
      source.interval = Millis(1000);
      source.timeout = Millis(2000);
      source.labels = config::SourceLabels{"service", "namespace", "version"};
      c.telemetry_sources.push_back(source);
    }
    server = std::make_unique<TestServer>(c);
    deployer = server->Token("ci-bot", Role::kDeployer);
    admin = server->Token("admin-1", Role::kAdmin);
  }

  void Deploy() {
    auto r = PostDeployment(*server, deployer,
                            R"({"id":"rel-1","service":"checkout","environment":"prod","version":"v2",)"
                            R"("previous_version":"v1","release_class":"web","traffic_percent":10})");
    ASSERT_EQ(r.status, 201) << r.body;
  }

  boost::json::object Release() {
    return ParseJson(server->Request("GET", "/v1/releases/rel-1", admin).body).at("release").as_object();
  }

  // The state of the signal at `source` in the release's latest evaluation, or "".
  std::string State(const std::string& source) {
    const auto rel = Release();
    const auto* evaluation = rel.if_contains("evaluation");
    if (evaluation == nullptr || !evaluation->is_object()) return "";
    for (const auto& s : evaluation->at("signals").as_array()) {
      if (s.at("source").as_string() == source) return std::string(s.at("state").as_string());
    }
    return "";
  }

  // Polls (bounded) until the signal at `source` is in `state`.
  bool AwaitState(const std::string& source, const std::string& state, std::chrono::milliseconds limit = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (State(source) == state) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  boost::json::array Decisions() { return Release().at("decisions").as_array(); }
  boost::json::array Escalations() {
    return ParseJson(server->Request("GET", "/v1/escalations?release_id=rel-1", admin).body)
        .at("escalations").as_array();
  }

  // The value of backstop_telemetry_pulls_total{source, result}.
  double Pulls(const std::string& source, const std::string& result) {
    const std::string text = server->app().metrics().Serialize();
    const std::string want_result = "result=\"" + result + "\"";
    const std::string want_source = "source=\"" + source + "\"";
    std::size_t pos = 0;
    while ((pos = text.find("backstop_telemetry_pulls_total{", pos)) != std::string::npos) {
      const std::size_t end = text.find('\n', pos);
      const std::string line = text.substr(pos, end - pos);
      pos = end;
      if (line.find(want_result) != std::string::npos && line.find(want_source) != std::string::npos) {
        return std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return -1;
  }

  static std::vector<std::string> Strings(const boost::json::value& array) {
    std::vector<std::string> out;
    for (const auto& r : array.as_array()) out.emplace_back(r.as_string());
    return out;
  }

  ThresholdDir dir;
  WebhookReceiver receiver;
  std::unique_ptr<MetricsExporter> exporter;
  std::unique_ptr<PrometheusServer> prometheus;
  std::shared_ptr<LogCapture> capture;
  std::unique_ptr<TestServer> server;
  std::string deployer;
  std::string admin;
};

TEST_F(PrometheusPullTest, AHealthyCanaryStaysPass) {
  Start(WebClass({{"prom", RatioQuery("http_requests_total")}}), {"prom"});
  Deploy();
  ASSERT_TRUE(AwaitState("prom", "pass")) << State("prom");
  // It stays pass while the pulls go on, and nothing is decided.
  const double ok_before = Pulls("prom", "ok");
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(State("prom"), "pass");
  }
  EXPECT_GT(Pulls("prom", "ok"), ok_before);
  EXPECT_TRUE(Decisions().empty());
  EXPECT_TRUE(receiver.received().empty());
  const auto rel = Release();
  const auto& signal = rel.at("evaluation").at("signals").as_array()[0];
  EXPECT_NEAR(signal.at("canary").at("value").to_number<double>(), 0.01, 0.005);
  EXPECT_NEAR(signal.at("baseline").at("value").to_number<double>(), 0.01, 0.005);
}

TEST_F(PrometheusPullTest, ARaisedFiveXxRatioRollsBackThroughTheWebhook) {
  Start(WebClass({{"prom", RatioQuery("http_requests_total")}}), {"prom"});
  Deploy();
  ASSERT_TRUE(AwaitState("prom", "pass")) << State("prom");

  const auto turned_bad = std::chrono::system_clock::now();
  exporter->SetErrorRatio("http_requests_total", "v2", 0.3);
  ASSERT_TRUE(receiver.AwaitCount(1, 30s));
  const auto got = receiver.received();
  // Measured, never asserted: scrape (1 s) + rate window + pull (1 s) + decision + delivery.
  std::fflush(stdout);
  std::printf("[ measure  ] exporter turned bad -> rollback webhook: %lld ms (1 s scrape, 1 s pull)\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(got[0].at - turned_bad).count()));
  std::fflush(stdout);

  ASSERT_EQ(got.size(), 1u);
  const auto body = ParseJson(got[0].body);
  EXPECT_EQ(body.at("release_id").as_string(), "rel-1");
  EXPECT_EQ(body.at("decided_by").as_string(), "auto");
  EXPECT_EQ(body.at("to_version").as_string(), "v1");
  EXPECT_EQ(Strings(body.at("reasons")), std::vector<std::string>{"signal.breach"});
  const auto decisions = Decisions();
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].at("decision").as_string(), "auto_rollback");
  EXPECT_EQ(Strings(decisions[0].at("reasons")), std::vector<std::string>{"signal.breach"});
  EXPECT_TRUE(Escalations().empty());
  // The evidence is the pulled series.
  const auto rel = Release();
  const auto& signal = rel.at("evaluation").at("signals").as_array()[0];
  EXPECT_EQ(signal.at("source").as_string(), "prom");
  EXPECT_EQ(signal.at("state").as_string(), "breach");
}

TEST_F(PrometheusPullTest, AStoppedExporterMakesTheSignalStaleNeverPassNorRollback) {
  Start(WebClass({{"prom", RatioQuery("http_requests_total")}}), {"prom"});
  Deploy();
  ASSERT_TRUE(AwaitState("prom", "pass")) << State("prom");
  exporter->Stop();
  ASSERT_TRUE(AwaitState("prom", "stale")) << State("prom");
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(1s);
    server->app().evaluator().TickNow();
    EXPECT_EQ(State("prom"), "stale");
  }
  EXPECT_EQ(Release().at("evaluation").at("verdict").as_string(), "insufficient");
  EXPECT_EQ(Release().at("status").as_string(), "evaluating");
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(receiver.received().empty());
}

TEST_F(PrometheusPullTest, AQueryPrometheusRejectsIsACountedFailureLoggedOnceWithTheQuery) {
  const std::string bad = "sum by (service) (rate(http_requests_total[5s])";  // unclosed parenthesis
  Start(WebClass({{"prom", bad}}), {"prom"});
  Deploy();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (Pulls("prom", "query_error") < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_GE(Pulls("prom", "query_error"), 3);
  EXPECT_EQ(Pulls("prom", "ok"), 0);
  // One line for the whole streak, naming the query.
  EXPECT_EQ(capture->Count("pulling signal http_5xx_ratio failed (query_error)"), 1);
  EXPECT_EQ(capture->Count(bad), 1);
  EXPECT_NE(State("prom"), "pass");
  EXPECT_TRUE(Decisions().empty());
}

TEST_F(PrometheusPullTest, ASecondSourceThatDisagreesIsASourceDisagreementConflict) {
  // The application's own counters and the load balancer's, through two sources.
  Start(WebClass({{"prom-app", RatioQuery("http_requests_total")}, {"prom-lb", RatioQuery("lb_requests_total")}}),
        {"prom-app", "prom-lb"});
  Deploy();
  ASSERT_TRUE(AwaitState("prom-app", "pass")) << State("prom-app");
  ASSERT_TRUE(AwaitState("prom-lb", "pass")) << State("prom-lb");
  exporter->SetErrorRatio("http_requests_total", "v2", 0.3);

  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (Escalations().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  const auto escalations = Escalations();
  ASSERT_EQ(escalations.size(), 1u);
  const auto reasons = Strings(escalations[0].at("reasons"));
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "conflict.source_disagreement"), reasons.end())
      << boost::json::serialize(escalations[0].at("reasons"));
  const auto& evidence = escalations[0].at("evidence");
  EXPECT_EQ(Strings(evidence.at("conflicts")), std::vector<std::string>{"conflict.source_disagreement"});
  EXPECT_EQ(Release().at("status").as_string(), "escalated");
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(receiver.received().empty());
}

TEST_F(PrometheusPullTest, PrometheusKilledMidRunGoesStaleWithoutACrashAndRecoversWhenItReturns) {
  Start(WebClass({{"prom", RatioQuery("http_requests_total")}}), {"prom"});
  Deploy();
  ASSERT_TRUE(AwaitState("prom", "pass")) << State("prom");

  prometheus->Kill();
  ASSERT_TRUE(AwaitState("prom", "stale")) << State("prom");
  EXPECT_GT(Pulls("prom", "unavailable"), 0);
  EXPECT_EQ(capture->Count("pulling signal http_5xx_ratio failed (unavailable)"), 1);
  // The server goes on answering.
  EXPECT_EQ(server->Request("GET", "/healthz").status, 200);

  prometheus->Restart();
  ASSERT_TRUE(AwaitState("prom", "pass", 45s)) << State("prom");
  EXPECT_EQ(capture->Count("pulling signal http_5xx_ratio works again"), 1);
  EXPECT_TRUE(Decisions().empty());
  EXPECT_TRUE(receiver.received().empty());
}

// A source that accepts connections and never answers: its queries time out
// on their own threads while the other source, the ticks and the API go on.
TEST_F(PrometheusPullTest, ADeadSourceDelaysNeitherAnotherSourceNorTheTickNorTheApi) {
  BlackHole hole;
  dir.Write("web.yaml", WebClass({{"prom", RatioQuery("http_requests_total")}, {"dead", "up"}}));
  auto c = TestConfig("");
  c.thresholds_dir = dir.path();
  c.evaluation_tick = Millis(200);
  for (const auto& [name, url] : {std::pair<std::string, std::string>{"prom", prometheus->url()},
                                  {"dead", "http://127.0.0.1:" + std::to_string(hole.port())}}) {
    config::TelemetrySourceConfig source;
    source.name = name;
    source.url = url;
    source.interval = Millis(1000);
    source.timeout = Millis(3000);
    source.max_concurrency = 1;
    source.labels = config::SourceLabels{"service", "namespace", "version"};
    c.telemetry_sources.push_back(source);
  }
  server = std::make_unique<TestServer>(c);
  deployer = server->Token("ci-bot", Role::kDeployer);
  admin = server->Token("admin-1", Role::kAdmin);
  Deploy();
  ASSERT_TRUE(AwaitState("prom", "pass")) << State("prom");
  const double ok_before = Pulls("prom", "ok");
  const auto started = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(4s);
  // About one pull a second at the live source while the dead one hangs.
  EXPECT_GE(Pulls("prom", "ok") - ok_before, 3);
  EXPECT_GE(Pulls("dead", "timeout"), 1);
  const auto tick_started = std::chrono::steady_clock::now();
  server->app().evaluator().TickNow();
  EXPECT_LT(std::chrono::steady_clock::now() - tick_started, 2s);
  const auto request_started = std::chrono::steady_clock::now();
  EXPECT_EQ(server->Request("GET", "/v1/releases/rel-1", admin).status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - request_started, 1s);
  EXPECT_EQ(State("prom"), "pass");
  EXPECT_NE(State("dead"), "pass");  // no sample from it: never a pass
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

// The puller on its own: nothing is pulled while the process does not hold
// the evaluator lease, and pulls start once it does.
TEST_F(PrometheusPullTest, PullsOnlyWhileHoldingTheEvaluatorLease) {
  metrics::Metrics metrics("test");
  telemetry::WindowStore windows(1000, std::chrono::hours(1));
  auto set = std::make_shared<policy::ThresholdSet>();
  policy::SignalRule rule;
  rule.name = "http_5xx_ratio";
  rule.max = 0.05;
  rule.queries = {{"prom", RatioQuery("http_requests_total")}};
  set->signals.push_back(rule);
  std::atomic<bool> active{false};
  std::atomic<int> notified{0};
  config::TelemetrySourceConfig source;
  source.name = "prom";
  source.url = prometheus->url();
  source.interval = Millis(1000);
  source.timeout = Millis(2000);
  source.labels = config::SourceLabels{"service", "namespace", "version"};
  ASSERT_TRUE(prometheus->AwaitResult(RatioQuery("http_requests_total"), 20s));
  pull::TelemetryPuller puller(
      {source}, windows, metrics,
      pull::PullHooks{[&] { return active.load(); },
                      [&] { return std::vector<pull::PullRelease>{{"checkout", "prod", "v2", "v1", set}}; },
                      [&](const auto&, auto) { ++notified; }, [] { return NowMicros(); }});
  puller.Start();
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(puller.PullNow(), 0);
  EXPECT_EQ(notified.load(), 0);
  EXPECT_EQ(windows.series_count(), 0);
  active = true;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (windows.series_count() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(windows.series_count(), 2);  // canary and baseline of source prom
  EXPECT_GT(notified.load(), 0);
  const auto pairs = windows.Snapshot("checkout", "prod", "http_5xx_ratio", "v2", std::string("v1"));
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].source, "prom");
  EXPECT_FALSE(pairs[0].canary.empty());
  EXPECT_FALSE(pairs[0].baseline.empty());
  puller.Stop();
}

}  // namespace
}  // namespace backstop::testing
