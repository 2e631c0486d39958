// Notifications end to end: the real server, loopback fakes that answer the
// way PagerDuty, Slack and a webhook receiver do, GET /v1/notifications and
// the metrics.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <iostream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/common/sha256.hpp"
#include "backstop/common/time_format.hpp"
#include "json_schema.hpp"
#include "test_support.hpp"
#include "webhook_receiver.hpp"

namespace backstop::testing {
namespace {

using namespace std::chrono_literals;
using Reply = WebhookReceiver::Reply;

constexpr const char* kPdKeyEnv = "BACKSTOP_TEST_PD_ROUTING_KEY";
constexpr const char* kPdKey = "R0UTINGKEY0000000000000000000000";
constexpr const char* kSlackUrlEnv = "BACKSTOP_TEST_SLACK_URL";
constexpr const char* kNotifySecretEnv = "BACKSTOP_TEST_NOTIFY_SECRET";
constexpr const char* kNotifySecret = "notify-secret";
constexpr const char* kRollbackSecretEnv = "BACKSTOP_TEST_ROLLBACK_SECRET";
constexpr const char* kUiUrl = "https://backstop.example";

std::string ApprovalClass() {
  return "release_class: gated\nversion: 1\nreversibility: reversible_with_backup\nautomation: approval\n"
         "approval:\n  ttl: 1h\n"
         "evaluation:\n  window: 5m\n  min_samples: 5\n  max_staleness: 5m\n  breach_for: 0s\n  duration: 1h\n"
         "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n";
}

std::string AutoClass() {
  return "release_class: web\nversion: 1\nreversibility: reversible_with_state\nautomation: auto\n"
         "evaluation:\n  window: 5m\n  min_samples: 5\n  max_staleness: 5m\n  breach_for: 0s\n  duration: 1h\n"
         "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n";
}

std::string DeployBody(const std::string& id, const std::string& service, const std::string& release_class) {
  return R"({"id":")" + id + R"(","service":")" + service +
         R"(","environment":"prod","version":"v2","previous_version":"v1","release_class":")" + release_class +
         R"(","traffic_percent":10})";
}

// PagerDuty's answers (Events API v2).
Reply PdAccepted() {
  return Reply(202, 0ms, R"({"status":"success","message":"Event processed","dedup_key":"x"})");
}
Reply PdInvalid() {
  return Reply(400, 0ms, R"({"status":"invalid event","message":"Event object is invalid","errors":["x"]})");
}
Reply PdThrottled() { return Reply(429, 0ms, R"({"status":"throttle event","message":"Requests for this service are arriving too quickly."})"); }
// Slack's answers: plain text.
Reply SlackOk() { return Reply(200, 0ms, "ok", "text/plain"); }
Reply SlackInvalid() { return Reply(400, 0ms, "invalid_payload", "text/plain"); }

// A JSON string's text (anything else serialized), to compare with std::string.
std::string S(const boost::json::value& v) { return v.is_string() ? std::string(v.as_string()) : boost::json::serialize(v); }

// api/openapi.json, for checking real answers and bodies against it.
const boost::json::value& OpenApi() {
  static const boost::json::value document = [] {
    std::ifstream in(SourcePath("api/openapi.json"));
    std::stringstream text;
    text << in.rdbuf();
    return ParseJson(text.str());
  }();
  return document;
}

std::vector<std::string> AgainstOpenApi(const boost::json::value& instance, const boost::json::value& schema) {
  return ValidateJson(instance, schema, OpenApi());
}

const boost::json::value& ListSchema() {
  return OpenApi().at("paths").at("/v1/notifications").at("get").at("responses").at("200").at("content").at(
      "application/json").at("schema");
}

WebhookReceiver::Options At(const std::string& path) {
  WebhookReceiver::Options o;
  o.path = path;
  return o;
}

config::NotifierConfig PagerDuty(const WebhookReceiver& fake) {
  config::NotifierConfig n;
  n.name = "oncall";
  n.type = config::NotifierType::kPagerDuty;
  n.routing_key_env = kPdKeyEnv;
  n.url = fake.url();
  n.events = {domain::NotificationEvent::kEscalationOpened, domain::NotificationEvent::kRollbackFailed,
              domain::NotificationEvent::kRollbackIneffective};
  n.timeout = Millis(2000);
  return n;
}

config::NotifierConfig Slack() {
  config::NotifierConfig n;
  n.name = "releases-channel";
  n.type = config::NotifierType::kSlack;
  n.url_env = kSlackUrlEnv;
  n.events = {domain::NotificationEvent::kEscalationOpened, domain::NotificationEvent::kEscalationApproved,
              domain::NotificationEvent::kActionSucceeded, domain::NotificationEvent::kActionFailed};
  n.timeout = Millis(2000);
  return n;
}

config::NotifierConfig Webhook(const std::string& url, Millis timeout = Millis(2000)) {
  config::NotifierConfig n;
  n.name = "audit-sink";
  n.type = config::NotifierType::kWebhook;
  n.url = url;
  n.secret_env = kNotifySecretEnv;
  const auto all = domain::AllNotificationEvents();
  n.events.assign(all.begin(), all.end());
  n.timeout = timeout;
  return n;
}

class NotificationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv(kPdKeyEnv, kPdKey, 1);
    ::setenv(kNotifySecretEnv, kNotifySecret, 1);
    ::setenv(kRollbackSecretEnv, "rollback-secret", 1);
  }

  void Start(config::Notifiers notifiers, std::vector<config::ExecutorConfig> executors = {}) {
    dir.Write("gated.yaml", ApprovalClass());
    dir.Write("web.yaml", AutoClass());
    auto c = TestConfig("");
    c.thresholds_dir = dir.path();
    c.evaluation_tick = Millis(100);
    c.notifiers = std::move(notifiers);
    c.ui_url = kUiUrl;
    if (!executors.empty()) c.executors = std::move(executors);
    server = std::make_unique<TestServer>(c);
    deployer = server->Token("ci-bot", Role::kDeployer);
    approver = server->Token("sre-1", Role::kApprover);
    viewer = server->Token("viewer-1", Role::kViewer);
  }

  void Breach(const std::string& id, const std::string& service, const std::string& release_class) {
    ASSERT_EQ(PostDeployment(*server, deployer, DeployBody(id, service, release_class)).status, 201);
    ASSERT_EQ(server->Request("POST", "/v1/telemetry", deployer, TelemetryBatch(service, "v2", 0.5, 8)).status, 202);
  }

  // The pending escalation of a breached approval-class release.
  std::string Escalate(const std::string& id = "rel-1", const std::string& service = "checkout") {
    Breach(id, service, "gated");
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto list = ParseJson(server->Request("GET", "/v1/escalations?state=pending&release_id=" + id, viewer).body)
                            .at("escalations")
                            .as_array();
      if (!list.empty()) return std::string(list[0].at("id").as_string());
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "no escalation for " << id;
    return "";
  }

  boost::json::array Notifications(const std::string& query = "") {
    const auto r = server->Request("GET", "/v1/notifications" + query, viewer);
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseJson(r.body).at("notifications").as_array();
  }

  // Polls until `done(notifications)` holds; returns the last list.
  boost::json::array AwaitNotifications(const std::string& query, const std::function<bool(const boost::json::array&)>& done,
                                        std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    boost::json::array list;
    while (std::chrono::steady_clock::now() < deadline) {
      list = Notifications(query);
      if (done(list)) return list;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "notifications never got there: " << boost::json::serialize(list);
    return list;
  }

  static bool AllFinished(const boost::json::array& list, std::size_t n) {
    if (list.size() != n) return false;
    for (const auto& x : list) {
      const auto state = x.at("state").as_string();
      if (state != "succeeded" && state != "failed") return false;
    }
    return true;
  }

  std::string Metrics() { return server->Request("GET", "/metrics").body; }

  ThresholdDir dir;
  std::unique_ptr<TestServer> server;
  std::string deployer;
  std::string approver;
  std::string viewer;
};

TEST_F(NotificationsTest, PagerDutyTriggersThenResolvesOnApprovalWithTheSameDedupKey) {
  WebhookReceiver pd(At("/v2/enqueue"));
  pd.Script({}, PdAccepted());
  Start({PagerDuty(pd)});
  const std::string esc = Escalate();
  ASSERT_TRUE(pd.AwaitCount(1, 20s));
  ASSERT_EQ(server->Request("POST", "/v1/escalations/" + esc + "/approve", approver, "{}").status, 200);
  ASSERT_TRUE(pd.AwaitCount(2, 20s));

  const auto got = pd.received();
  ASSERT_EQ(got.size(), 2u);
  const auto trigger = ParseJson(got[0].body).as_object();
  const auto resolve = ParseJson(got[1].body).as_object();
  EXPECT_EQ(trigger.at("event_action"), "trigger");
  EXPECT_EQ(trigger.at("routing_key"), kPdKey);
  EXPECT_EQ(S(trigger.at("dedup_key")), "backstop:escalation:" + esc);
  EXPECT_EQ(trigger.at("payload").at("source"), "checkout.prod");
  EXPECT_EQ(trigger.at("payload").at("severity"), "error");
  EXPECT_EQ(trigger.at("payload").at("class"), "signal.breach");
  EXPECT_EQ(S(trigger.at("links").at(0).at("href")), std::string(kUiUrl) + "/ui/#/escalations/" + esc);
  EXPECT_EQ(resolve.at("event_action"), "resolve");
  EXPECT_EQ(resolve.at("dedup_key"), trigger.at("dedup_key"));
  std::cout << "PagerDuty trigger as received: " << got[0].body << "\nPagerDuty resolve as received: " << got[1].body
            << "\n";

  const auto list = AwaitNotifications("?escalation_id=" + esc, [](const auto& l) { return AllFinished(l, 2); });
  ASSERT_EQ(list.size(), 2u);
  const auto errors = AgainstOpenApi(ParseJson(server->Request("GET", "/v1/notifications", viewer).body), ListSchema());
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(list[0].at("event"), "escalation.approved");  // newest first
  EXPECT_EQ(list[1].at("event"), "escalation.opened");
  for (const auto& n : list) {
    EXPECT_EQ(n.at("notifier"), "oncall");
    EXPECT_EQ(n.at("state"), "succeeded");
    EXPECT_EQ(n.at("attempts"), 1);
    EXPECT_EQ(n.at("release_id"), "rel-1");
    EXPECT_EQ(S(n.at("escalation_id")), esc);
    EXPECT_TRUE(n.at("last_error").is_null());
  }
  EXPECT_NE(Metrics().find(R"(backstop_notifications_total{event="escalation.opened",notifier="oncall",result="succeeded"} 1)"),
            std::string::npos);
}

TEST_F(NotificationsTest, PagerDutyRateLimitIsRetriedNoSoonerThanThirtySeconds) {
  WebhookReceiver pd(At("/v2/enqueue"));
  pd.Script({PdThrottled()}, PdAccepted());
  Start({PagerDuty(pd)});
  const std::string esc = Escalate();
  const auto waiting = AwaitNotifications("?escalation_id=" + esc, [](const auto& l) {
    return l.size() == 1 && l[0].at("attempts") == 1 && l[0].at("state") == "pending";
  });
  ASSERT_EQ(waiting.size(), 1u);
  const auto n = waiting[0].as_object();
  EXPECT_EQ(n.at("last_status"), 429);
  EXPECT_NE(std::string(n.at("last_error").as_string()).find("HTTP 429"), std::string::npos);
  const auto updated = ParseRfc3339(n.at("updated_at").as_string());
  const auto next = ParseRfc3339(n.at("next_attempt_at").as_string());
  ASSERT_TRUE(updated && next);
  EXPECT_GE(*next - *updated, 29s) << "429 is retried no sooner than 30 s";
  EXPECT_EQ(pd.received().size(), 1u);

  // The delay passes (moved, not waited for): the retry goes out and succeeds.
  {
    auto conn = server->db().Connect();
    pqxx::work tx(*conn);
    tx.exec0("UPDATE notifications SET next_attempt_at = now()");
    tx.commit();
  }
  const auto done = AwaitNotifications("?escalation_id=" + esc, [](const auto& l) { return AllFinished(l, 1); });
  EXPECT_EQ(done[0].at("state"), "succeeded");
  EXPECT_EQ(done[0].at("attempts"), 2);
  EXPECT_EQ(pd.received().size(), 2u);
  EXPECT_NE(Metrics().find(R"(backstop_notifications_total{event="escalation.opened",notifier="oncall",result="retry"} 1)"),
            std::string::npos);
}

TEST_F(NotificationsTest, PagerDutyInvalidEventIsNotRetriedAndUndoesNothing) {
  WebhookReceiver pd(At("/v2/enqueue"));
  pd.Script({}, PdInvalid());
  Start({PagerDuty(pd)});
  const std::string esc = Escalate();
  const auto list = AwaitNotifications("?escalation_id=" + esc, [](const auto& l) { return AllFinished(l, 1); });
  EXPECT_EQ(list[0].at("state"), "failed");
  EXPECT_EQ(list[0].at("attempts"), 1);
  EXPECT_EQ(list[0].at("last_status"), 400);
  EXPECT_EQ(std::string(list[0].at("last_error").as_string()).rfind("HTTP 400: {\"status\":\"invalid event\"", 0), 0u)
      << list[0].at("last_error");
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(pd.received().size(), 1u);
  // The escalation it was about is still waiting for a human.
  const auto e = ParseJson(server->Request("GET", "/v1/escalations/" + esc, viewer).body);
  EXPECT_EQ(e.at("escalation").at("state"), "pending");
  EXPECT_EQ(Notifications("?state=failed").size(), 1u);
  EXPECT_EQ(Notifications("?state=succeeded").size(), 0u);
}

TEST_F(NotificationsTest, SlackOkMeansDelivered) {
  WebhookReceiver slack(At("/services/T000/B000/XXXX"));
  slack.Script({}, SlackOk());
  ::setenv(kSlackUrlEnv, slack.url().c_str(), 1);
  Start({Slack()});
  const std::string esc = Escalate();
  const auto list = AwaitNotifications("?escalation_id=" + esc, [](const auto& l) { return AllFinished(l, 1); });
  EXPECT_EQ(list[0].at("state"), "succeeded");
  const auto got = slack.received();
  ASSERT_EQ(got.size(), 1u);
  const auto body = ParseJson(got[0].body).as_object();
  EXPECT_EQ(std::string(body.at("text").as_string()).rfind("Approval needed: checkout v2 in prod", 0), 0u);
  const auto& blocks = body.at("blocks").as_array();
  ASSERT_EQ(blocks.size(), 4u);
  EXPECT_EQ(blocks[0].at("type"), "header");
  EXPECT_EQ(blocks[1].at("type"), "section");
  EXPECT_EQ(blocks[2].at("type"), "context");
  EXPECT_EQ(S(blocks[3].at("elements").at(0).at("url")), std::string(kUiUrl) + "/ui/#/escalations/" + esc);
  std::cout << "Slack message as received: " << got[0].body << "\n";
}

TEST_F(NotificationsTest, SlackPlainTextErrorFailsWithoutRetry) {
  WebhookReceiver slack(At("/services/T000/B000/XXXX"));
  slack.Script({}, SlackInvalid());
  ::setenv(kSlackUrlEnv, slack.url().c_str(), 1);
  Start({Slack()});
  const std::string esc = Escalate();
  const auto list = AwaitNotifications("?escalation_id=" + esc, [](const auto& l) { return AllFinished(l, 1); });
  EXPECT_EQ(list[0].at("state"), "failed");
  EXPECT_EQ(S(list[0].at("last_error")), "HTTP 400: invalid_payload");
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(slack.received().size(), 1u);
}

TEST_F(NotificationsTest, WebhookNotifierIsSignedLikeTheRollbackWebhook) {
  WebhookReceiver sink(At("/backstop"));
  Start({Webhook(sink.url())});
  const std::string esc = Escalate();
  ASSERT_EQ(server->Request("POST", "/v1/escalations/" + esc + "/reject", approver, R"({"comment":"known noise"})").status,
            200);
  ASSERT_TRUE(sink.AwaitCount(2, 20s));
  const auto got = sink.received();
  ASSERT_EQ(got.size(), 2u);
  for (const auto& r : got) {
    // t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
    const auto comma = r.signature.find(",v1=");
    ASSERT_EQ(r.signature.rfind("t=", 0), 0u) << r.signature;
    ASSERT_NE(comma, std::string::npos);
    EXPECT_EQ(r.signature.substr(comma + 4), HmacSha256Hex(kNotifySecret, r.signature.substr(2, comma - 2) + "." + r.body));
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.idempotency_key, std::string(ParseJson(r.body).at("id").as_string()));
    const auto errors =
        AgainstOpenApi(ParseJson(r.body), boost::json::object{{"$ref", "#/components/schemas/NotificationWebhook"}});
    EXPECT_TRUE(errors.empty()) << errors.front();
  }
  const auto opened = ParseJson(got[0].body).as_object();
  const auto rejected = ParseJson(got[1].body).as_object();
  EXPECT_EQ(opened.at("event"), "escalation.opened");
  EXPECT_EQ(opened.at("release").at("id"), "rel-1");
  EXPECT_EQ(opened.at("release").at("status"), "escalated");
  EXPECT_EQ(S(opened.at("escalation").at("id")), esc);
  EXPECT_EQ(opened.at("escalation").at("state"), "pending");
  EXPECT_FALSE(opened.contains("action"));
  EXPECT_TRUE(ParseRfc3339(opened.at("at").as_string()).has_value());
  EXPECT_EQ(rejected.at("event"), "escalation.rejected");
  EXPECT_EQ(rejected.at("escalation").at("state"), "rejected");
  EXPECT_EQ(rejected.at("release").at("status"), "rollback_rejected");
  std::cout << "Webhook notification as received: " << got[1].body << "\n";
}

TEST_F(NotificationsTest, ListIsPagedFilteredAndForReadersOnly) {
  WebhookReceiver sink(At("/backstop"));
  Start({Webhook(sink.url())});
  const std::string first = Escalate("rel-1", "checkout");
  const std::string second = Escalate("rel-2", "search");
  AwaitNotifications("", [](const auto& l) { return AllFinished(l, 2); });
  EXPECT_EQ(Notifications("?escalation_id=" + first).size(), 1u);
  const auto page = ParseJson(server->Request("GET", "/v1/notifications?limit=1", viewer).body);
  ASSERT_EQ(page.at("notifications").as_array().size(), 1u);
  EXPECT_EQ(S(page.at("notifications").at(0).at("escalation_id")), second);  // newest first
  ASSERT_TRUE(page.as_object().contains("next"));
  const auto rest = ParseJson(
      server->Request("GET", "/v1/notifications?limit=1&cursor=" + S(page.at("next")), viewer)
          .body);
  EXPECT_EQ(S(rest.at("notifications").at(0).at("escalation_id")), first);

  EXPECT_EQ(ErrorCode(server->Request("GET", "/v1/notifications?state=lost", viewer)), "invalid_input");
  EXPECT_EQ(ErrorCode(server->Request("GET", "/v1/notifications?notifier=x", viewer)), "invalid_input");
  EXPECT_EQ(server->Request("GET", "/v1/notifications").status, 401);
  const std::string telemetry = server->Token("agent", Role::kTelemetry);
  EXPECT_EQ(server->Request("GET", "/v1/notifications", telemetry).status, 403);
}

TEST_F(NotificationsTest, ADeadReceiverDoesNotDelayTheRollback) {
  // Every notification hangs until the notifier's timeout (2 s).
  WebhookReceiver dead(At("/backstop"));
  dead.Script({}, Reply(200, 10000ms));
  WebhookReceiver rollback;
  Start({Webhook(dead.url(), Millis(2000))}, {WebhookExecutor(rollback.url(), kRollbackSecretEnv)});
  // Both notification workers are busy waiting on the dead receiver.
  Escalate("rel-1", "checkout");
  Escalate("rel-2", "search");
  ASSERT_TRUE(dead.AwaitCount(2, 20s));

  const auto breached = std::chrono::system_clock::now();
  Breach("rel-3", "payments", "web");
  ASSERT_TRUE(rollback.AwaitCount(1, 20s));
  const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(rollback.received()[0].at - breached);
  EXPECT_LT(latency, 1500ms) << "the rollback webhook waited for notifications";
  const auto outcome = ParseJson(rollback.received()[0].body).as_object();
  EXPECT_EQ(outcome.at("release_id"), "rel-3");

  // The notifications time out and are retried; nothing else depends on them.
  const auto pending = AwaitNotifications("?state=pending", [](const auto& l) {
    for (const auto& n : l) {
      if (n.at("attempts").as_int64() >= 1 && !n.at("last_error").is_null() &&
          std::string(n.at("last_error").as_string()) == "timeout") {
        return true;
      }
    }
    return false;
  });
  EXPECT_FALSE(pending.empty());
}

}  // namespace
}  // namespace backstop::testing
