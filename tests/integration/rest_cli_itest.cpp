// `backstop queue|releases|mode|audit` against the real server: both output
// modes and every exit code (INTEGRATIONS.md §6).
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/common/sha256.hpp"
#include "backstop/evaluator/evaluator.hpp"
#include "process.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

namespace fs = std::filesystem;

class RestCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir.Write("gated.yaml", ThresholdYaml("gated", 1, "approval"));
    auto c = TestConfig("");
    c.thresholds_dir = dir.path();
    server = std::make_unique<TestServer>(c);
    url = "http://127.0.0.1:" + std::to_string(server->port());
    deployer = server->Token("ci-bot", Role::kDeployer);
    approver = server->Token("sre-1", Role::kApprover);
    admin = server->Token("admin-1", Role::kAdmin);
  }

  // Runs the real binary with BACKSTOP_URL and BACKSTOP_TOKEN set.
  ProcessResult Cli(const std::vector<std::string>& args, const std::string& token) {
    std::vector<std::string> argv{BACKSTOP_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, {"BACKSTOP_URL=" + url, "BACKSTOP_TOKEN=" + token});
  }

  // A release of the approval class, escalated by real breaching telemetry;
  // returns the escalation id. `triggered_by` names who asked for it.
  std::string Escalate(const std::string& id, const std::string& service, const std::string& triggered_by = "") {
    auto r = PostDeployment(*server, deployer,
                            R"({"id":")" + id + R"(","service":")" + service +
                                R"(","environment":"prod","version":"v2","previous_version":"v1",)"
                                R"("release_class":"gated","traffic_percent":10)" +
                                (triggered_by.empty() ? "" : R"(,"triggered_by":")" + triggered_by + "\"") + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(server->Request("POST", "/v1/telemetry", deployer, TelemetryBatch(service, "v2", 0.5, 10)).status, 202);
    // Ticks until the evaluation escalates (bounded): a tick can run just
    // before the samples' receipt time by the database clock.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      server->app().evaluator().TickNow();
      auto list = ParseJson(server->Request("GET", "/v1/escalations?release_id=" + id, admin).body);
      const auto& items = list.at("escalations").as_array();
      if (!items.empty()) return std::string(items[0].at("id").as_string());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return "";
  }

  ThresholdDir dir;
  std::unique_ptr<TestServer> server;
  std::string url, deployer, approver, admin;
};

TEST_F(RestCliTest, QueueListShowsPendingEscalationsAsATableAndAsJson) {
  const std::string esc = Escalate("rel-1", "checkout");
  ASSERT_FALSE(esc.empty());
  auto table = Cli({"queue", "list"}, approver);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("ID ", 0), 0u) << table.out;  // header first
  EXPECT_NE(table.out.find(esc), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("checkout/prod"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("v2 -> v1"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("0/1"), std::string::npos) << table.out;

  auto json = Cli({"queue", "list", "--output", "json"}, approver);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto answer = ParseJson(json.out);
  ASSERT_EQ(answer.at("escalations").as_array().size(), 1u);
  EXPECT_EQ(answer.at("escalations").as_array()[0].at("id").as_string(), esc);

  auto none = Cli({"queue", "list", "--state", "approved"}, approver);
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.out, "no escalations\n");
}

TEST_F(RestCliTest, QueueShowPrintsTheEvidenceAndTheReasonsInWords) {
  const std::string esc = Escalate("rel-1", "checkout");
  ASSERT_FALSE(esc.empty());
  auto r = Cli({"queue", "show", esc}, approver);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("proposed:  rollback v2 -> v1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("policy.approval_required: this release class needs a human"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("http_5xx_ratio"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0.5 (10 samples)"), std::string::npos) << r.out;  // canary
  EXPECT_NE(r.out.find("<= 0.05"), std::string::npos) << r.out;           // the bound
}

TEST_F(RestCliTest, ApproveAndRejectChangeTheEscalationAndExitZero) {
  const std::string first = Escalate("rel-1", "checkout");
  const std::string second = Escalate("rel-2", "search");
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  auto approved = Cli({"queue", "approve", first, "--comment", "looks bad"}, approver);
  ASSERT_EQ(approved.exit_code, 0) << approved.err;
  EXPECT_NE(approved.out.find("(approved)"), std::string::npos) << approved.out;
  auto rejected = Cli({"queue", "reject", "--comment", "keep it", second, "--output", "json"}, approver);
  ASSERT_EQ(rejected.exit_code, 0) << rejected.err;
  EXPECT_EQ(ParseJson(rejected.out).at("escalation").at("state").as_string(), "rejected");
}

TEST_F(RestCliTest, RefusalsExitOneWithTheErrorCodeOnStderr) {
  const std::string esc = Escalate("rel-1", "checkout", "sre-1");
  ASSERT_FALSE(esc.empty());
  // sre-1 is named triggered_by: approving its own release is refused.
  auto own = Cli({"queue", "approve", esc}, approver);
  EXPECT_EQ(own.exit_code, 1);
  EXPECT_NE(own.err.find("separation_of_duties"), std::string::npos) << own.err;
  EXPECT_TRUE(own.out.empty());

  auto unknown = Cli({"releases", "show", "no-such-release"}, approver);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("not_found"), std::string::npos) << unknown.err;

  auto bad_token = Cli({"mode", "get"}, "not-a-token");
  EXPECT_EQ(bad_token.exit_code, 1);
  EXPECT_NE(bad_token.err.find("unauthorized"), std::string::npos) << bad_token.err;
}

TEST_F(RestCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Cli({"queue", "reject", "some-id"}, approver).exit_code, 2);  // reject needs --comment
  EXPECT_EQ(Cli({"queue", "approve"}, approver).exit_code, 2);
  EXPECT_EQ(Cli({"queue", "list", "--bogus", "x"}, approver).exit_code, 2);
  EXPECT_EQ(Cli({"mode", "set", "freeze"}, admin).exit_code, 2);  // set needs --reason
  EXPECT_EQ(Cli({"releases", "list", "--output", "yaml"}, admin).exit_code, 2);
}

TEST_F(RestCliTest, AnUnreachableServerExitsThree) {
  std::vector<std::string> argv{BACKSTOP_BINARY, "mode", "get", "--url", "http://127.0.0.1:1"};
  auto r = RunProcess(argv, {"BACKSTOP_TOKEN=x", "BACKSTOP_URL="});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("unreachable"), std::string::npos) << r.err;
}

TEST_F(RestCliTest, ModeSetAndGetWithATokenFile) {
  const fs::path token_file = fs::temp_directory_path() / ("backstop-token-" + RandomHex(6));
  std::ofstream(token_file) << admin << "\n";
  std::vector<std::string> argv{BACKSTOP_BINARY, "mode", "set", "freeze", "--reason", "incident 42",
                                "--url", url, "--token-file", token_file.string()};
  auto set = RunProcess(argv, {"BACKSTOP_TOKEN=", "BACKSTOP_URL="});
  fs::remove(token_file);
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "mode: freeze\n");
  auto get = Cli({"mode"}, admin);
  EXPECT_EQ(get.exit_code, 0);
  EXPECT_EQ(get.out, "mode: freeze\n");
  auto audit = ParseJson(server->Request("GET", "/v1/audit?limit=5", admin).body);
  bool reason_recorded = false;
  for (const auto& e : audit.at("entries").as_array()) {
    if (e.at("kind").as_string() == "mode.changed") {
      reason_recorded = e.at("payload").at("reason").as_string() == "incident 42";
    }
  }
  EXPECT_TRUE(reason_recorded);
}

TEST_F(RestCliTest, ReleasesListAndShowAndAuditVerify) {
  Escalate("rel-1", "checkout");
  auto list = Cli({"releases", "list", "--service", "checkout"}, admin);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("rel-1"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("escalated"), std::string::npos) << list.out;
  auto show = Cli({"releases", "show", "rel-1"}, admin);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("release rel-1 (escalated)"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("escalate"), std::string::npos) << show.out;
  auto json = Cli({"releases", "show", "rel-1", "--output", "json"}, admin);
  EXPECT_EQ(ParseJson(json.out).at("release").at("id").as_string(), "rel-1");
  auto verify = Cli({"audit", "verify"}, admin);
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_EQ(verify.out.rfind("audit chain ok: ", 0), 0u) << verify.out;
}

}  // namespace
}  // namespace backstop::testing
