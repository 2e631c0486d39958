#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/common/sha256.hpp"
#include "backstop/store/token_repository.hpp"
#include "process.hpp"
#include "test_support.hpp"
#include "webhook_receiver.hpp"

namespace backstop::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kSecretEnv = "BACKSTOP_TEST_WEBHOOK_SECRET";
constexpr const char* kSecret = "test-secret-value";

std::string AutoClass() {
  return "release_class: web\nversion: 1\nreversibility: reversible_with_state\nautomation: auto\n"
         "evaluation:\n  window: 5m\n  min_samples: 5\n  max_staleness: 5m\n  breach_for: 0s\n  duration: 1h\n"
         "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n";
}

config::ExecutorConfig Webhook(const WebhookReceiver& r, Millis timeout = Millis(2000), int max_attempts = 5) {
  return WebhookExecutor(r.url(), kSecretEnv, timeout, max_attempts);
}

std::string BadBatch(const std::string& service) { return TelemetryBatch(service, "v2", 0.5, 8); }

std::string DeployBody(const std::string& id, const std::string& service) {
  return R"({"id":")" + id + R"(","service":")" + service +
         R"(","environment":"prod","version":"v2","previous_version":"v1","release_class":"web","traffic_percent":10})";
}

// Checks X-Backstop-Signature the way a receiver would.
bool SignatureValid(const WebhookReceiver::Received& r) {
  const auto comma = r.signature.find(",v1=");
  if (r.signature.rfind("t=", 0) != 0 || comma == std::string::npos) return false;
  const std::string t = r.signature.substr(2, comma - 2);
  const std::string mac = r.signature.substr(comma + 4);
  return mac == HmacSha256Hex(kSecret, t + "." + r.body);
}

class ExecutionTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv(kSecretEnv, kSecret, 1); }

  void Start(std::vector<config::ExecutorConfig> executors) {
    dir.Write("web.yaml", AutoClass());
    auto c = TestConfig("");
    c.thresholds_dir = dir.path();
    c.evaluation_tick = Millis(100);
    c.executors = std::move(executors);
    server = std::make_unique<TestServer>(c);
    deployer = server->Token("ci-bot", Role::kDeployer);
    admin = server->Token("admin-1", Role::kAdmin);
  }

  void BreachRelease(const std::string& id = "rel-1", const std::string& service = "checkout") {
    ASSERT_EQ(PostDeployment(*server, deployer, DeployBody(id, service)).status, 201);
    ASSERT_EQ(server->Request("POST", "/v1/telemetry", deployer, BadBatch(service)).status, 202);
  }

  boost::json::object AwaitActionFinal(const std::string& release_id, std::chrono::milliseconds limit = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto list = ParseJson(server->Request("GET", "/v1/actions?release_id=" + release_id, admin).body)
                      .at("actions").as_array();
      if (!list.empty()) {
        const auto state = list.back().at("state").as_string();  // the first action queued
        if (state == "succeeded" || state == "failed") return list.back().as_object();
      }
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "action of " << release_id << " did not finish";
    return {};
  }

  std::string Status(const std::string& id) {
    return std::string(
        ParseJson(server->Request("GET", "/v1/releases/" + id, admin).body).at("release").at("status").as_string());
  }

  ThresholdDir dir;
  WebhookReceiver receiver;
  std::unique_ptr<TestServer> server;
  std::string deployer;
  std::string admin;
};

TEST_F(ExecutionTest, WebhookIsSignedCarriesTheIdempotencyKeyAndRollsBack) {
  Start({Webhook(receiver)});
  BreachRelease();
  const auto action = AwaitActionFinal("rel-1");
  EXPECT_EQ(action.at("state").as_string(), "succeeded");
  EXPECT_EQ(action.at("attempts").as_int64(), 1);
  EXPECT_EQ(action.at("executor").as_string(), "webhook");
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(SignatureValid(got[0])) << got[0].signature;
  EXPECT_EQ(got[0].idempotency_key, std::string(action.at("id").as_string()));
  EXPECT_EQ(got[0].content_type, "application/json");
  const auto body = ParseJson(got[0].body).as_object();
  EXPECT_EQ(body.at("action_id").as_string(), action.at("id").as_string());
  EXPECT_EQ(body.at("release_id").as_string(), "rel-1");
  EXPECT_EQ(body.at("service").as_string(), "checkout");
  EXPECT_EQ(body.at("environment").as_string(), "prod");
  EXPECT_EQ(body.at("from_version").as_string(), "v2");
  EXPECT_EQ(body.at("to_version").as_string(), "v1");
  EXPECT_EQ(body.at("decided_by").as_string(), "auto");
  EXPECT_EQ(body.at("reasons").as_array()[0].as_string(), "signal.breach");
  EXPECT_TRUE(body.at("approvers").as_array().empty());
  EXPECT_EQ(Status("rel-1"), "rolled_back");
  auto audit = ParseJson(server->Request("GET", "/v1/audit?release_id=rel-1&limit=1", admin).body);
  EXPECT_EQ(audit.at("entries").as_array()[0].at("kind").as_string(), "action.succeeded");
  auto one = server->Request("GET", "/v1/actions/" + std::string(action.at("id").as_string()), admin);
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(ParseJson(one.body).at("action").at("state").as_string(), "succeeded");
  EXPECT_EQ(server->Request("GET", "/v1/actions/nope", admin).status, 404);
}

TEST_F(ExecutionTest, ServerErrorsAreRetriedUntilSuccess) {
  receiver.Script({{500, 0ms}, {500, 0ms}}, {200, 0ms});
  Start({Webhook(receiver)});
  BreachRelease();
  const auto action = AwaitActionFinal("rel-1");
  EXPECT_EQ(action.at("state").as_string(), "succeeded");
  EXPECT_EQ(action.at("attempts").as_int64(), 3);
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 3u);
  for (const auto& r : got) {
    EXPECT_EQ(r.idempotency_key, got[0].idempotency_key);
    EXPECT_TRUE(SignatureValid(r));
  }
  EXPECT_EQ(Status("rel-1"), "rolled_back");
}

TEST_F(ExecutionTest, ClientErrorFailsAtOnceAndAHumanTakesOver) {
  receiver.Script({{400, 0ms}}, {200, 0ms});
  Start({Webhook(receiver)});
  BreachRelease();
  const auto action = AwaitActionFinal("rel-1");
  EXPECT_EQ(action.at("state").as_string(), "failed");
  EXPECT_EQ(action.at("attempts").as_int64(), 1);
  EXPECT_EQ(action.at("last_error").as_string(), "HTTP 400");
  EXPECT_EQ(Status("rel-1"), "rollback_failed");
  auto escalations = ParseJson(server->Request("GET", "/v1/escalations?release_id=rel-1&state=pending", admin).body)
                         .at("escalations").as_array();
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_EQ(escalations[0].at("reasons").as_array()[0].as_string(), "rollback.failed");

  // Approving the failed rollback queues a new action, which now succeeds.
  const std::string sre = server->Token("sre-1", Role::kApprover);
  auto approve = server->Request("POST", "/v1/escalations/" + std::string(escalations[0].at("id").as_string()) +
                                             "/approve", sre);
  ASSERT_EQ(approve.status, 200) << approve.body;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (Status("rel-1") != "rolled_back" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(Status("rel-1"), "rolled_back");
  EXPECT_EQ(receiver.received().size(), 2u);
}

TEST_F(ExecutionTest, UnansweredRollbackFailedEscalationIsAskedAgainAfterExpiry) {
  receiver.Script({{400, 0ms}}, {200, 0ms});
  dir.Write("web.yaml", AutoClass() + "approval:\n  ttl: 1s\n");
  auto c = TestConfig("");
  c.thresholds_dir = dir.path();
  c.evaluation_tick = Millis(100);
  c.executors = {Webhook(receiver)};
  server = std::make_unique<TestServer>(c);
  deployer = server->Token("ci-bot", Role::kDeployer);
  admin = server->Token("admin-1", Role::kAdmin);
  BreachRelease();
  ASSERT_EQ(AwaitActionFinal("rel-1").at("state").as_string(), "failed");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::size_t expired = 0, pending = 0;
  while ((expired == 0 || pending == 0) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    auto list = ParseJson(server->Request("GET", "/v1/escalations?release_id=rel-1", admin).body)
                    .at("escalations").as_array();
    expired = pending = 0;
    for (const auto& e : list) {
      if (e.at("state").as_string() == "expired") ++expired;
      if (e.at("state").as_string() == "pending") ++pending;
    }
  }
  EXPECT_GE(expired, 1u);
  EXPECT_EQ(pending, 1u);
  EXPECT_EQ(Status("rel-1"), "rollback_failed");
}

TEST_F(ExecutionTest, TimeoutIsRetried) {
  receiver.Script({{200, 2500ms}}, {200, 0ms});
  Start({Webhook(receiver, Millis(500))});
  BreachRelease();
  const auto action = AwaitActionFinal("rel-1");
  EXPECT_EQ(action.at("state").as_string(), "succeeded");
  EXPECT_EQ(action.at("attempts").as_int64(), 2);
  const auto got = receiver.received();
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got[0].idempotency_key, got[1].idempotency_key);
}

TEST_F(ExecutionTest, CommandArgumentsAreNeverInterpretedByAShell) {
  const fs::path scratch = fs::temp_directory_path() / ("backstop-cmd-" + RandomHex(6));
  fs::create_directories(scratch);
  const fs::path script = scratch / "echo-argv.sh";
  const fs::path out = scratch / "argv.txt";
  std::ofstream(script) << "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> \"" << out.string() << "\"; done\n";
  fs::permissions(script, fs::perms::owner_all);
  config::ExecutorConfig e;
  e.type = config::ExecutorType::kCommand;
  e.argv = {script.string(), "{service}", "x; rm -rf /", "$(touch " + (scratch / "pwned").string() + ")",
            "--to={to_version}", "{action_id}"};
  e.timeout = Millis(5000);
  Start({e});
  BreachRelease();
  const auto action = AwaitActionFinal("rel-1");
  EXPECT_EQ(action.at("state").as_string(), "succeeded");
  std::ifstream in(out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "checkout");
  EXPECT_EQ(lines[1], "x; rm -rf /");
  EXPECT_EQ(lines[2], "$(touch " + (scratch / "pwned").string() + ")");
  EXPECT_EQ(lines[3], "--to=v1");
  EXPECT_EQ(lines[4], std::string(action.at("id").as_string()));
  EXPECT_FALSE(fs::exists(scratch / "pwned"));
  fs::remove_all(scratch);
}

TEST_F(ExecutionTest, FailingCommandIsRetriedThenFails) {
  config::ExecutorConfig e;
  e.type = config::ExecutorType::kCommand;
  e.argv = {"/bin/false"};
  e.max_attempts = 2;
  Start({e});
  BreachRelease();
  const auto action = AwaitActionFinal("rel-1");
  EXPECT_EQ(action.at("state").as_string(), "failed");
  EXPECT_EQ(action.at("attempts").as_int64(), 2);
  EXPECT_EQ(action.at("last_error").as_string(), "exit code 1");
  EXPECT_EQ(Status("rel-1"), "rollback_failed");
}

TEST_F(ExecutionTest, MissingWebhookSecretIsAStartUpError) {
  dir.Write("web.yaml", AutoClass());
  ::unsetenv(kSecretEnv);
  TestDatabase db;
  auto c = TestConfig(db.url());
  c.thresholds_dir = dir.path();
  c.executors = {Webhook(receiver)};
  app::App app(c);
  auto s = app.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(kSecretEnv), std::string::npos) << s.error().message;
  app.Stop();
}

TEST_F(ExecutionTest, RestoredVersionStillBreachingEscalatesRollbackIneffective) {
  Start({Webhook(receiver)});
  BreachRelease();
  ASSERT_EQ(AwaitActionFinal("rel-1").at("state").as_string(), "succeeded");
  ASSERT_EQ(Status("rel-1"), "rolled_back");
  // The restored version v1 is just as bad: the cause was elsewhere.
  ASSERT_EQ(server->Request("POST", "/v1/telemetry", deployer, TelemetryBatch("checkout", "v1", 0.5, 8)).status,
            202);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  boost::json::array escalations;
  while (escalations.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    escalations = ParseJson(server->Request("GET", "/v1/escalations?release_id=rel-1", admin).body)
                      .at("escalations").as_array();
  }
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_EQ(escalations[0].at("reasons").as_array()[0].as_string(), "rollback.ineffective");
  EXPECT_EQ(escalations[0].at("proposed_action").at("type").as_string(), "contain");
  std::this_thread::sleep_for(400ms);  // asked once, not on every tick
  EXPECT_EQ(ParseJson(server->Request("GET", "/v1/escalations?release_id=rel-1", admin).body)
                .at("escalations").as_array().size(),
            1u);
}

TEST_F(ExecutionTest, HealthyRestoredVersionRaisesNothing) {
  Start({Webhook(receiver)});
  BreachRelease();
  ASSERT_EQ(AwaitActionFinal("rel-1").at("state").as_string(), "succeeded");
  ASSERT_EQ(server->Request("POST", "/v1/telemetry", deployer, TelemetryBatch("checkout", "v1", 0.001, 8)).status,
            202);
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(ParseJson(server->Request("GET", "/v1/escalations?release_id=rel-1", admin).body)
                  .at("escalations").as_array().empty());
  EXPECT_EQ(Status("rel-1"), "rolled_back");
}

TEST_F(ExecutionTest, FreezeHoldsAutomaticActionsButNotApprovedOnes) {
  Start({Webhook(receiver)});
  ASSERT_EQ(PostDeployment(*server, deployer, DeployBody("rel-1", "checkout")).status, 201);
  ASSERT_EQ(server->Request("PUT", "/v1/mode", admin, R"({"mode":"freeze"})").status, 200);
  {
    auto conn = server->db().Connect();
    pqxx::work tx(*conn);
    for (const char* decided_by : {"auto", "approval"}) {
      tx.exec_params0("INSERT INTO actions (id, release_id, service, environment, release_class, action_type, "
                      "from_version, to_version, decided_by, reasons, state) VALUES ($1, 'rel-1', 'checkout', "
                      "'prod', 'web', 'rollback', 'v2', 'v1', $2, '[\"signal.breach\"]', 'pending')",
                      std::string("frozen-") + decided_by, std::string(decided_by));
    }
    tx.exec0("NOTIFY backstop_actions");
    tx.commit();
  }
  ASSERT_TRUE(receiver.AwaitCount(1, 10s));
  std::this_thread::sleep_for(700ms);
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].idempotency_key, "frozen-approval");
  // Back to normal: the held automatic action runs.
  ASSERT_EQ(server->Request("PUT", "/v1/mode", admin, R"({"mode":"normal"})").status, 200);
  ASSERT_TRUE(receiver.AwaitCount(2, 10s));
  EXPECT_EQ(receiver.received()[1].idempotency_key, "frozen-auto");
}

// Fifty queued actions, two Backstop processes: each action runs exactly once.
TEST_F(ExecutionTest, TwoProcessesCompleteEachActionExactlyOnce) {
  Start({Webhook(receiver)});
  ASSERT_EQ(PostDeployment(*server, deployer, DeployBody("rel-1", "checkout")).status, 201);
  auto c = TestConfig(server->db().url());
  c.thresholds_dir = dir.path();
  c.executors = {Webhook(receiver)};
  app::App second(c);
  ASSERT_TRUE(second.Start().ok());
  {
    auto conn = server->db().Connect();
    pqxx::work tx(*conn);
    for (int i = 0; i < 50; ++i) {
      tx.exec_params0("INSERT INTO actions (id, release_id, service, environment, release_class, action_type, "
                      "from_version, to_version, decided_by, reasons, state) VALUES ($1, 'rel-1', 'checkout', "
                      "'prod', 'web', 'rollback', 'v2', 'v1', 'approval', '[\"signal.breach\"]', 'pending')",
                      "bulk-" + std::to_string(i));
    }
    tx.exec0("NOTIFY backstop_actions");
    tx.commit();
  }
  ASSERT_TRUE(receiver.AwaitCount(50, 30s));
  std::this_thread::sleep_for(500ms);  // nothing more may arrive
  const auto got = receiver.received();
  EXPECT_EQ(got.size(), 50u);
  std::set<std::string> keys;
  for (const auto& r : got) keys.insert(r.idempotency_key);
  EXPECT_EQ(keys.size(), 50u);
  auto conn = server->db().Connect();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  int done = 0;
  while (done < 50 && std::chrono::steady_clock::now() < deadline) {
    pqxx::read_transaction tx(*conn);
    done = tx.exec1("SELECT count(*) FROM actions WHERE id LIKE 'bulk-%' AND state = 'succeeded' AND attempts = 1")[0]
               .as<int>();
    if (done < 50) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(done, 50);
  pqxx::read_transaction tx(*conn);
  const auto workers = tx.exec1("SELECT count(DISTINCT worker) FROM action_attempts WHERE action_id LIKE 'bulk-%'")[0];
  EXPECT_GE(workers.as<int>(), 1);
  second.Stop();
}

}  // namespace
}  // namespace backstop::testing
