// Crash safety with the real binary: SIGKILL mid-flight and a paused
// (SIGSTOP) worker whose lease is taken over.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/audit/audit_repository.hpp"
#include "backstop/common/sha256.hpp"
#include "backstop/store/token_repository.hpp"
#include "process.hpp"
#include "test_support.hpp"
#include "webhook_receiver.hpp"

namespace backstop::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kSecret = "crash-test-secret";

// One real `backstop serve` process writing its log to a file.
class BackstopProcess {
 public:
  BackstopProcess(const std::string& config_path, const std::string& log_path)
      : log_path_(log_path),
        child_(std::make_unique<ChildProcess>(
            std::vector<std::string>{BACKSTOP_BINARY, "serve", "--config", config_path},
            std::vector<std::string>{"BACKSTOP_DATABASE_URL=", "BACKSTOP_LISTEN=", "BACKSTOP_MIGRATION_DATABASE_URL=",
                                     std::string("BACKSTOP_CRASH_SECRET=") + kSecret},
            log_path)) {}

  // Waits (bounded) for the "serving on" line written after this process started.
  std::uint16_t AwaitPort(std::size_t skip_lines_before) {
    static const std::regex kServing(R"(serving on http://127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 200; ++i) {
      std::ifstream in(log_path_);
      std::string line;
      std::size_t n = 0;
      while (std::getline(in, line)) {
        if (n++ < skip_lines_before) continue;
        std::smatch m;
        if (std::regex_search(line, m, kServing)) return static_cast<std::uint16_t>(std::stoi(m[1].str()));
      }
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "backstop did not start; log: " << log_path_;
    return 0;
  }
  ChildProcess& child() { return *child_; }

 private:
  std::string log_path_;
  std::unique_ptr<ChildProcess> child_;
};

std::size_t LineCount(const std::string& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scratch = fs::temp_directory_path() / ("backstop-crash-" + RandomHex(6));
    fs::create_directories(scratch / "thresholds");
    std::ofstream(scratch / "thresholds" / "web.yaml")
        << "release_class: web\nversion: 1\nreversibility: reversible_with_state\nautomation: auto\n"
           "evaluation:\n  window: 5m\n  min_samples: 5\n  breach_for: 0s\n  duration: 1h\n"
           "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n";
    log = (scratch / "backstop.log").string();
  }
  void TearDown() override { fs::remove_all(scratch); }

  std::string WriteConfig(const std::string& instance_id, const std::string& timeout,
                          const std::string& evaluation_tick = "100ms") {
    const std::string path = (scratch / (instance_id + ".yaml")).string();
    std::ofstream(path) << "listen: 127.0.0.1:0\n"
                        << "database_url: " << db.url() << "\n"
                        << "migrations_dir: " << SourcePath("migrations") << "\n"
                        << "thresholds_dir: " << (scratch / "thresholds").string() << "\n"
                        << "evaluation_tick: " << evaluation_tick << "\n"
                        << "instance_id: " << instance_id << "\n"
                        << "executors:\n  - match: \"*\"\n    type: webhook\n    url: " << receiver.url() << "\n"
                        << "    secret_env: BACKSTOP_CRASH_SECRET\n    timeout: " << timeout << "\n"
                        << "    max_attempts: 5\n";
    return path;
  }

  std::string Token(const std::string& name, Role role) {
    auto conn = db.Connect();
    pqxx::work tx(*conn);
    auto t = store::TokenRepository::Create(tx, name, role, "test");
    tx.commit();
    return *t;
  }

  void Breach(std::uint16_t port, const std::string& token) {
    http::HttpClient client("127.0.0.1", port);
    const std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + token},
                                                             {"Content-Type", "application/json"}};
    auto d = client.Send({"POST", "/v1/deployments", h,
                          R"({"id":"rel-1","service":"checkout","environment":"prod","version":"v2",)"
                          R"("previous_version":"v1","release_class":"web","traffic_percent":10})"});
    ASSERT_TRUE(d.ok());
    ASSERT_EQ(d->status, 201) << d->body;
    auto t = client.Send({"POST", "/v1/telemetry", h, TelemetryBatch("checkout", "v2", 0.5, 8)});
    ASSERT_TRUE(t.ok());
    ASSERT_EQ(t->status, 202);
  }

  // (state, attempts) of the release's action, polled until final or the limit.
  std::pair<std::string, int> AwaitFinal(std::chrono::milliseconds limit) {
    auto conn = db.Connect();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::pair<std::string, int> last{"none", 0};
    while (std::chrono::steady_clock::now() < deadline) {
      pqxx::read_transaction tx(*conn);
      auto r = tx.exec("SELECT state, attempts FROM actions WHERE release_id = 'rel-1'");
      if (!r.empty()) {
        last = {r[0][0].as<std::string>(), r[0][1].as<int>()};
        if (last.first == "succeeded" || last.first == "failed") return last;
      }
      std::this_thread::sleep_for(50ms);
    }
    return last;
  }

  fs::path scratch;
  std::string log;
  TestDatabase db;
  WebhookReceiver receiver;
};

TEST_F(CrashTest, KilledMidFlightTheRestartFinishesTheActionWithTheSameKey) {
  // The first delivery hangs (the receiver answers 200 only after 3 s); the
  // process is killed while it waits, so that 2xx never reaches a commit.
  receiver.Script({{200, 3000ms}}, {200, 0ms});
  const std::string config = WriteConfig("node-a", "10s");
  const std::string token = Token("ci-bot", Role::kDeployer);
  {
    BackstopProcess first(config, log);
    const auto port = first.AwaitPort(0);
    ASSERT_NE(port, 0);
    Breach(port, token);
    ASSERT_TRUE(receiver.AwaitCount(1, 20s));
    first.child().Signal(SIGKILL);
    first.child().Wait(10s);
  }
  // Same instance_id: its own leases are reclaimed at once on start-up.
  BackstopProcess second(config, log);
  ASSERT_NE(second.AwaitPort(LineCount(log)), 0);
  const auto [state, attempts] = AwaitFinal(30s);
  EXPECT_EQ(state, "succeeded");
  EXPECT_EQ(attempts, 2);
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].idempotency_key, got[1].idempotency_key);  // the repeat carries the same key
  second.child().Signal(SIGTERM);
  EXPECT_EQ(second.child().Wait(20s), 0);
}

TEST_F(CrashTest, PausedWorkerPastItsLeaseChangesNothingWhenItResumes) {
  // Executor timeout 1 s: the lease is 11 s. The first delivery hangs.
  receiver.Script({{200, 20000ms}}, {200, 0ms});
  const std::string token = Token("ci-bot", Role::kDeployer);
  BackstopProcess paused(WriteConfig("node-a", "1s"), log);
  const auto port = paused.AwaitPort(0);
  ASSERT_NE(port, 0);
  Breach(port, token);
  ASSERT_TRUE(receiver.AwaitCount(1, 20s));
  paused.child().Signal(SIGSTOP);

  // Another process takes the action over once the lease has expired.
  auto c = TestConfig(db.url());
  c.thresholds_dir = (scratch / "thresholds").string();
  c.instance_id = "node-b";
  c.executors = {WebhookExecutor(receiver.url(), "BACKSTOP_CRASH_SECRET", Millis(1000))};
  ::setenv("BACKSTOP_CRASH_SECRET", kSecret, 1);
  app::App other(c);
  ASSERT_TRUE(other.Start().ok());
  const auto [state, attempts] = AwaitFinal(30s);
  EXPECT_EQ(state, "succeeded");
  EXPECT_EQ(attempts, 2);

  paused.child().Signal(SIGCONT);
  // The resumed worker's attempt 1 completes late; its fenced write matches nothing.
  std::this_thread::sleep_for(3s);
  auto conn = db.Connect();
  pqxx::read_transaction tx(*conn);
  const auto row = tx.exec1("SELECT state, attempts, lease_owner FROM actions WHERE release_id = 'rel-1'");
  EXPECT_EQ(row[0].as<std::string>(), "succeeded");
  EXPECT_EQ(row[1].as<int>(), 2);
  EXPECT_TRUE(row[2].is_null());
  http::HttpClient client("127.0.0.1", port);
  auto metrics = client.Send({"GET", "/metrics", {}, ""});
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("backstop_action_stale_completions_total 1"), std::string::npos);
  other.Stop();
  paused.child().Signal(SIGTERM);
  EXPECT_EQ(paused.child().Wait(20s), 0);
}

// Issue 16: after a SIGKILL, the restarted process (same instance_id) used
// to wait for its previous life's evaluator lease to expire, answering
// telemetry 503 meanwhile. With a 5 s tick the lease lasts 15 s; the restart
// must be ready, and take telemetry, long before that.
TEST_F(CrashTest, RestartedWithTheSameInstanceIdTakesTelemetryAsSoonAsItIsReady) {
  const std::string config = WriteConfig("node-a", "5s", "5s");
  const std::string token = Token("ci-bot", Role::kDeployer);
  const auto ready = [](std::uint16_t port) {
    http::HttpClient client("127.0.0.1", port);
    auto r = client.Send({"GET", "/readyz", {}, ""}, Millis(3000));
    return r.ok() && r->status == 200;
  };
  {
    BackstopProcess first(config, log);
    const auto port = first.AwaitPort(0);
    ASSERT_NE(port, 0);
    ASSERT_TRUE(ready(port));  // it holds the evaluator lease
    Breach(port, token);
    first.child().Signal(SIGKILL);
    first.child().Wait(10s);
  }
  const auto restarted_at = std::chrono::steady_clock::now();
  BackstopProcess second(config, log);
  const auto port = second.AwaitPort(LineCount(log));
  ASSERT_NE(port, 0);
  bool is_ready = false;
  while (!is_ready && std::chrono::steady_clock::now() - restarted_at < 5s) {
    is_ready = ready(port);
    if (!is_ready) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(is_ready) << "not ready 5 s after the restart (the previous life's lease lasts 15 s)";
  http::HttpClient client("127.0.0.1", port);
  auto t = client.Send({"POST", "/v1/telemetry",
                        {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                        TelemetryBatch("checkout", "v2", 0.01, 5)});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->status, 202) << t->body;
  second.child().Signal(SIGTERM);
  EXPECT_EQ(second.child().Wait(20s), 0);
}

TEST_F(CrashTest, KilledBetweenAnEventAndItsNotificationTheRestartDeliversItOncePerKey) {
  // An approval class: the breach opens an escalation, told to a webhook
  // notifier in the same transaction. Its first delivery hangs and the
  // process is killed while it waits: the event is committed, its delivery
  // is not.
  std::ofstream(scratch / "thresholds" / "gated.yaml")
      << "release_class: gated\nversion: 1\nreversibility: reversible_with_backup\nautomation: approval\n"
         "evaluation:\n  window: 5m\n  min_samples: 5\n  breach_for: 0s\n  duration: 1h\n"
         "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n";
  WebhookReceiver::Options at;
  at.path = "/backstop";
  WebhookReceiver sink(at);
  sink.Script({{200, 3000ms}}, {200, 0ms});
  const std::string config = (scratch / "notify.yaml").string();
  std::ofstream(config) << "listen: 127.0.0.1:0\n"
                        << "database_url: " << db.url() << "\n"
                        << "migrations_dir: " << SourcePath("migrations") << "\n"
                        << "thresholds_dir: " << (scratch / "thresholds").string() << "\n"
                        << "evaluation_tick: 100ms\n"
                        << "instance_id: node-a\n"
                        << "notifiers:\n  - name: audit-sink\n    type: webhook\n    url: " << sink.url() << "\n"
                        << "    secret_env: BACKSTOP_CRASH_SECRET\n    events: [\"*\"]\n    timeout: 10s\n";
  const std::string token = Token("ci-bot", Role::kDeployer);
  {
    BackstopProcess first(config, log);
    const auto port = first.AwaitPort(0);
    ASSERT_NE(port, 0);
    http::HttpClient client("127.0.0.1", port);
    const std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + token},
                                                             {"Content-Type", "application/json"}};
    auto d = client.Send({"POST", "/v1/deployments", h,
                          R"({"id":"rel-1","service":"checkout","environment":"prod","version":"v2",)"
                          R"("previous_version":"v1","release_class":"gated","traffic_percent":10})"});
    ASSERT_TRUE(d.ok());
    ASSERT_EQ(d->status, 201) << d->body;
    auto t = client.Send({"POST", "/v1/telemetry", h, TelemetryBatch("checkout", "v2", 0.5, 8)});
    ASSERT_TRUE(t.ok());
    ASSERT_EQ(t->status, 202);
    ASSERT_TRUE(sink.AwaitCount(1, 20s));
    first.child().Signal(SIGKILL);
    first.child().Wait(10s);
  }
  // Same instance_id: its own leases are reclaimed at once on start-up.
  BackstopProcess second(config, log);
  ASSERT_NE(second.AwaitPort(LineCount(log)), 0);
  std::string state;
  auto conn = db.Connect();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (state != "succeeded" && std::chrono::steady_clock::now() < deadline) {
    pqxx::read_transaction tx(*conn);
    const auto r = tx.exec("SELECT state || ':' || attempts FROM notifications WHERE release_id = 'rel-1'");
    if (r.size() == 1) state = r[0][0].as<std::string>().substr(0, r[0][0].as<std::string>().find(':'));
    if (state != "succeeded") std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(state, "succeeded");
  {
    pqxx::read_transaction tx(*conn);
    EXPECT_EQ(tx.exec1("SELECT attempts FROM notifications WHERE release_id = 'rel-1'")[0].as<int>(), 2);
  }
  // Delivered twice with the same key: a receiver that deduplicates on the
  // body's id (also Idempotency-Key) acts once.
  const auto got = sink.received();
  ASSERT_EQ(got.size(), 2u);
  std::set<std::string> keys;
  for (const auto& r : got) {
    const auto body = ParseJson(r.body);
    EXPECT_EQ(body.at("event").as_string(), "escalation.opened");
    EXPECT_EQ(r.idempotency_key, std::string(body.at("id").as_string()));
    keys.insert(r.idempotency_key);
  }
  EXPECT_EQ(keys.size(), 1u);
  EXPECT_EQ(got[0].body, got[1].body) << "every attempt sends the same message";
  second.child().Signal(SIGTERM);
  EXPECT_EQ(second.child().Wait(20s), 0);
}

TEST_F(CrashTest, KilledSealerLeavesItsUnsealedEntriesToTheRestartWithNothingLostOrDuplicated) {
  const std::string config = WriteConfig("node-a", "5s");
  const std::string token = Token("ci-bot", Role::kDeployer);
  auto conn = db.Connect();
  auto unsealed = [&] {
    pqxx::read_transaction tx(*conn);
    return tx.exec1("SELECT count(*) FROM audit_log WHERE seq IS NULL")[0].as<int>();
  };
  auto await_sealed = [&](std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (unsealed() != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
    return unsealed() == 0;
  };
  constexpr int kDirect = 50;
  {
    BackstopProcess first(config, log);
    const auto port = first.AwaitPort(0);
    ASSERT_NE(port, 0);
    http::HttpClient client("127.0.0.1", port);
    for (int i = 0; i < 5; ++i) {
      auto d = client.Send({"POST", "/v1/deployments",
                            {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                            R"({"id":"rel-)" + std::to_string(i) + R"(","service":"svc-)" + std::to_string(i) +
                                R"(","environment":"prod","version":"v2","previous_version":"v1",)"
                                R"("release_class":"web","traffic_percent":10})"});
      ASSERT_TRUE(d.ok());
      ASSERT_EQ(d->status, 201) << d->body;
    }
    ASSERT_TRUE(await_sealed(5s)) << "the process seals what it writes by itself";
    // Frozen, the only sealer seals nothing; entries keep committing meanwhile.
    first.child().Signal(SIGSTOP);
    for (int i = 0; i < kDirect; ++i) {
      pqxx::work tx(*conn);
      audit::AuditRepository::Append(tx, audit::AuditEvent{"writer", audit::AuditKind::kModeChanged, std::nullopt,
                                                           R"({"i":)" + std::to_string(i) + "}"});
      tx.commit();
    }
    std::this_thread::sleep_for(200ms);
    ASSERT_EQ(unsealed(), kDirect);
    first.child().Signal(SIGKILL);
    first.child().Wait(10s);
  }
  EXPECT_EQ(unsealed(), kDirect);
  BackstopProcess second(config, log);
  ASSERT_NE(second.AwaitPort(LineCount(log)), 0);
  EXPECT_TRUE(await_sealed(10s));
  {
    pqxx::read_transaction tx(*conn);
    const auto stats =
        tx.exec1("SELECT count(*), min(seq), max(seq), count(DISTINCT prev_hash), count(DISTINCT payload::text) "
                 "FILTER (WHERE actor = 'writer'), count(*) FILTER (WHERE actor = 'writer') FROM audit_log");
    const int total = stats[0].as<int>();
    EXPECT_EQ(stats[1].as<int>(), 1);
    EXPECT_EQ(stats[2].as<int>(), total);  // gapless
    EXPECT_EQ(stats[3].as<int>(), total);  // no fork
    EXPECT_EQ(stats[4].as<int>(), kDirect);  // every direct entry once
    EXPECT_EQ(stats[5].as<int>(), kDirect);
    const auto v = audit::AuditRepository::Verify(tx);
    EXPECT_TRUE(v.ok);
    EXPECT_EQ(v.checked, total);
  }
  second.child().Signal(SIGTERM);
  EXPECT_EQ(second.child().Wait(20s), 0);
}

}  // namespace
}  // namespace backstop::testing
