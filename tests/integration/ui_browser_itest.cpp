#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "backstop/evaluator/evaluator.hpp"
#include "process.hpp"
#include "test_support.hpp"
#include "webhook_receiver.hpp"

// The approval page in a real headless Chromium (issue 15), against the real
// server and PostgreSQL. This test builds the situation from real telemetry
// (two releases whose canaries breach, each escalated because its class
// needs an approver), then runs tests/ui/approval_page_test.py, which drives
// the browser through Selenium and prints one line per step. A missing
// browser, driver or Selenium fails the test; it is never skipped.

namespace backstop::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kSecretEnv = "BACKSTOP_TEST_WEBHOOK_SECRET";
constexpr const char* kPython = "/usr/bin/python3";  // Debian's, where python3-selenium lives
constexpr const char* kChromium = "/usr/bin/chromium";
constexpr const char* kChromedriver = "/usr/bin/chromedriver";
// What approval_page_test.py saves under build/ui-screenshots (CI artefacts).
constexpr const char* kScreenshots[] = {"queue.png", "escalation.png", "escalation-chart.png",
                                        "escalation-zoom200.png", "release.png", "mode-freeze.png"};

// Approval class: one critical signal with an absolute bound and a
// Mann-Whitney baseline comparison, and one evidence-only signal.
constexpr const char* kApprovalClass = R"(release_class: ui-approval
version: 1
description: Browser-test class; a human approves every rollback.
reversibility: reversible_with_backup
automation: approval
approval:
  ttl: 2h
evaluation:
  window: 5m
  min_samples: 5
  max_staleness: 5m
  breach_for: 0s
  duration: 1h
signals:
  - name: http_5xx_ratio
    critical: true
    aggregate: mean
    bad_when: above
    max: 0.05
    baseline:
      ratio: 2
      min_delta: 0.01
      test: mann_whitney
      confidence: 0.95
    sources_tolerance: 0.5
  - name: latency_p99_ms
    critical: false
    aggregate: max
    bad_when: above
    max: 800
)";

// Markup where the API allows free text: deployment metadata (and, from the
// browser, an approval comment). The page must show it as text.
constexpr const char* kMaliciousMetadata =
    R"({"change":"<script>window.__xss='metadata'</script>",)"
    R"("note":"<img src=x onerror=\"window.__xss='img'\">","ticket":"OPS-1234"})";

class UiBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv(kSecretEnv, "ui-test-secret", 1);
    dir.Write("ui-approval.yaml", kApprovalClass);
    // The rollback receiver keeps answering 503, so an approved rollback
    // stays rolling_back (retried, attempts and last error visible) for the
    // whole test instead of finishing before anyone looks.
    receiver.Script({}, WebhookReceiver::Reply{503, 0ms});
    auto c = TestConfig("");
    c.thresholds_dir = dir.path();
    c.evaluation_tick = Millis(200);
    c.executors = {WebhookExecutor(receiver.url(), kSecretEnv, Millis(2000), 1000)};
    server = std::make_unique<TestServer>(c);
    deployer = server->Token("ci-bot", Role::kDeployer);
    alice = server->Token("alice", Role::kApprover);
    bob = server->Token("bob", Role::kApprover);
    admin = server->Token("root", Role::kAdmin);
  }

  void Deploy(const std::string& id, const std::string& service, const std::string& version,
              const std::string& previous, const std::string& extra) {
    auto r = PostDeployment(*server, deployer,
                            R"({"id":")" + id + R"(","service":")" + service +
                                R"(","environment":"prod","version":")" + version + R"(","previous_version":")" +
                                previous + R"(","release_class":"ui-approval","traffic_percent":10)" + extra + "}");
    ASSERT_EQ(r.status, 201) << r.body;
  }

  // Ten samples per cohort and source: the baseline near 1% errors, the
  // canary near 20% (over the 5% bound, 20x the baseline), latency fine.
  void Breach(const std::string& service, const std::string& canary, const std::string& baseline) {
    boost::json::array samples;
    auto add = [&](const std::string& version, const std::string& signal, double value, const char* source) {
      boost::json::object s{{"service", service}, {"environment", "prod"}, {"version", version},
                            {"signal", signal}, {"value", value}};
      if (source != nullptr) s["source"] = source;
      samples.push_back(std::move(s));
    };
    for (int i = 0; i < 10; ++i) {
      for (const char* source : {static_cast<const char*>(nullptr), "prom"}) {
        add(baseline, "http_5xx_ratio", 0.008 + 0.0006 * i, source);
        add(baseline, "latency_p99_ms", 300 + 7 * i, source);
      }
    }
    for (int i = 0; i < 10; ++i) {
      for (const char* source : {static_cast<const char*>(nullptr), "prom"}) {
        add(canary, "http_5xx_ratio", 0.18 + 0.006 * i, source);
        add(canary, "latency_p99_ms", 390 + 9 * i, source);
      }
    }
    auto r = server->Request("POST", "/v1/telemetry", deployer,
                             boost::json::serialize(boost::json::object{{"samples", samples}}));
    ASSERT_EQ(r.status, 202) << r.body;
  }

  // The pending escalation of `release_id`, waited for (bounded).
  std::string AwaitPendingEscalation(const std::string& release_id) {
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = server->Request("GET", "/v1/escalations?state=pending&release_id=" + release_id, admin);
      const auto answer = ParseJson(r.body);
      const auto& list = answer.at("escalations").as_array();
      if (!list.empty()) return std::string(list[0].at("id").as_string());
      server->app().evaluator().TickNow();
      std::this_thread::sleep_for(50ms);
    }
    return "";
  }

  boost::json::object Get(const std::string& target) {
    auto r = server->Request("GET", target, admin);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    return ParseJson(r.body).as_object();
  }

  ThresholdDir dir;
  WebhookReceiver receiver;
  std::unique_ptr<TestServer> server;
  std::string deployer, alice, bob, admin;
};

TEST_F(UiBrowserTest, AnApproverWorksTheQueueInHeadlessChromium) {
  for (const char* needed : {kPython, kChromium, kChromedriver}) {
    ASSERT_TRUE(fs::exists(needed)) << needed << " is missing: scripts/test installs chromium, chromium-driver "
                                    << "and python3-selenium (BACKSTOP_PACKAGES in scripts/lib.sh)";
  }
  // payments: alice is named as its trigger (separation of duties), its
  // metadata carries markup.
  Deploy("rel-pay", "payments", "v2", "v1",
         std::string(R"(,"triggered_by":"alice","metadata":)") + kMaliciousMetadata);
  Breach("payments", "v2", "v1");
  // search: superseded from the browser test while its page is open.
  Deploy("rel-search", "search", "v7", "v6", "");
  Breach("search", "v7", "v6");
  const std::string pay = AwaitPendingEscalation("rel-pay");
  const std::string search = AwaitPendingEscalation("rel-search");
  ASSERT_FALSE(pay.empty());
  ASSERT_FALSE(search.empty());

  const fs::path shots = fs::path(BACKSTOP_BUILD_DIR) / "ui-screenshots";
  fs::create_directories(shots);
  for (const char* name : kScreenshots) fs::remove(shots / name);
  fs::remove(shots / "failure.png");
  fs::remove(shots / "failure.html");

  const auto run = RunProcess(
      {kPython, SourcePath("tests/ui/approval_page_test.py")},
      {"BACKSTOP_URL=http://127.0.0.1:" + std::to_string(server->port()), "BACKSTOP_SCREENSHOT_DIR=" + shots.string(),
       "TOKEN_DEPLOYER=" + deployer, "TOKEN_ALICE=" + alice, "TOKEN_BOB=" + bob, "TOKEN_ADMIN=" + admin,
       "ESCALATION_PAYMENTS=" + pay, "ESCALATION_SEARCH=" + search, "RELEASE_PAYMENTS=rel-pay",
       "RELEASE_SEARCH=rel-search", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"},
      std::chrono::seconds(240), /*own_process_group=*/true);
  ASSERT_EQ(run.exit_code, 0) << "stdout:\n" << run.out << "\nstderr:\n" << run.err;
  std::cout << run.out;

  // What the browser did, read back over REST.
  const auto release = Get("/v1/releases/rel-pay").at("release").as_object();
  EXPECT_EQ(release.at("status").as_string(), "rolling_back");
  const auto e = Get("/v1/escalations/" + pay).at("escalation").as_object();
  EXPECT_EQ(e.at("state").as_string(), "approved");
  ASSERT_EQ(e.at("approvals").as_array().size(), 1u);
  EXPECT_EQ(e.at("approvals").as_array()[0].at("by").as_string(), "bob");
  const auto actions = Get("/v1/actions?release_id=rel-pay").at("actions").as_array();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].at("decided_by").as_string(), "approval");
  EXPECT_EQ(Get("/v1/escalations/" + search).at("escalation").at("state").as_string(), "superseded");
  EXPECT_EQ(Get("/v1/mode").at("mode").as_string(), "freeze");
  for (const char* name : kScreenshots) {
    EXPECT_GT(fs::exists(shots / name) ? fs::file_size(shots / name) : 0u, 10000u) << name;
  }
}

}  // namespace
}  // namespace backstop::testing
