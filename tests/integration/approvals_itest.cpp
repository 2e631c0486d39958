#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace backstop::testing {
namespace {

using namespace std::chrono_literals;

std::string ApprovalClass(const std::string& automation, const std::string& ttl = "1h",
                          const std::string& reversibility = "reversible_with_backup") {
  return "release_class: gated\nversion: 1\nreversibility: " + reversibility + "\nautomation: " + automation +
         "\napproval:\n  ttl: " + ttl +
         "\nevaluation:\n  window: 5m\n  min_samples: 5\n  max_staleness: 5m\n  breach_for: 0s\n  duration: 1h\n"
         "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n";
}

class ApprovalsTest : public ::testing::Test {
 protected:
  void Start(const std::string& class_yaml) {
    dir.Write("gated.yaml", class_yaml);
    auto c = TestConfig("");
    c.thresholds_dir = dir.path();
    c.evaluation_tick = Millis(100);
    server = std::make_unique<TestServer>(c);
    deployer = server->Token("ci-bot", Role::kDeployer);
    admin = server->Token("admin-1", Role::kAdmin);
  }

  // Registers a release triggered by alice, makes it breach and returns the
  // escalation id once it is open.
  std::string Escalate(const std::string& id = "rel-1", const std::string& service = "checkout",
                       const std::string& token = "") {
    auto r = PostDeployment(*server, token.empty() ? deployer : token,
                            R"({"id":")" + id + R"(","service":")" + service +
                                R"(","environment":"prod","version":"v2","previous_version":"v1",)"
                                R"("release_class":"gated","traffic_percent":10,"triggered_by":"alice"})");
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(server->Request("POST", "/v1/telemetry", deployer, TelemetryBatch(service, "v2", 0.5, 8)).status, 202);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto list = ParseJson(server->Request("GET", "/v1/escalations?state=pending&release_id=" + id, admin).body)
                      .at("escalations").as_array();
      if (!list.empty()) return std::string(list[0].at("id").as_string());
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "no escalation for " << id;
    return "";
  }

  http::ClientResponse Approve(const std::string& esc, const std::string& token, const std::string& body = "") {
    return server->Request("POST", "/v1/escalations/" + esc + "/approve", token, body);
  }
  http::ClientResponse Reject(const std::string& esc, const std::string& token, const std::string& body) {
    return server->Request("POST", "/v1/escalations/" + esc + "/reject", token, body);
  }
  int CountActions(const std::string& release_id) {
    auto conn = server->db().Connect();
    pqxx::read_transaction tx(*conn);
    return tx.exec_params1("SELECT count(*) FROM actions WHERE release_id = $1", release_id)[0].as<int>();
  }
  std::string Status(const std::string& release_id) {
    return std::string(ParseJson(server->Request("GET", "/v1/releases/" + release_id, admin).body)
                           .at("release").at("status").as_string());
  }

  ThresholdDir dir;
  std::unique_ptr<TestServer> server;
  std::string deployer;
  std::string admin;
};

TEST_F(ApprovalsTest, SingleApprovalQueuesOneActionBoundToTheIntent) {
  Start(ApprovalClass("approval"));
  const std::string esc = Escalate();
  const std::string sre = server->Token("sre-1", Role::kApprover);
  auto r = Approve(esc, sre, R"({"comment":"confirmed in dashboards"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto e = ParseJson(r.body).at("escalation").as_object();
  EXPECT_EQ(e.at("state").as_string(), "approved");
  ASSERT_EQ(e.at("approvals").as_array().size(), 1u);
  EXPECT_EQ(e.at("approvals").as_array()[0].at("by").as_string(), "sre-1");
  EXPECT_EQ(e.at("approvals").as_array()[0].at("comment").as_string(), "confirmed in dashboards");
  EXPECT_EQ(CountActions("rel-1"), 1);
  auto actions = ParseJson(server->Request("GET", "/v1/actions?release_id=rel-1", admin).body).at("actions").as_array();
  EXPECT_EQ(actions[0].at("decided_by").as_string(), "approval");
  EXPECT_EQ(actions[0].at("approvers").as_array()[0].as_string(), "sre-1");
  EXPECT_EQ(actions[0].at("from_version").as_string(), "v2");
  EXPECT_EQ(actions[0].at("to_version").as_string(), "v1");
  EXPECT_TRUE(IsRollbackStatus(Status("rel-1")));
  auto audit = ParseJson(server->Request("GET", "/v1/audit?release_id=rel-1", admin).body);
  EXPECT_TRUE(HasAuditKind(audit, "escalation.approved"));
}

TEST_F(ApprovalsTest, DeployerAndTriggererMayNotApproveTheirOwnRelease) {
  Start(ApprovalClass("approval"));
  const std::string boss = server->Token("boss", Role::kAdmin);
  const std::string esc = Escalate("rel-1", "checkout", boss);  // deployed by boss
  auto by_deployer = Approve(esc, boss);
  EXPECT_EQ(by_deployer.status, 403);
  EXPECT_EQ(ErrorCode(by_deployer), "separation_of_duties");
  const std::string alice = server->Token("alice", Role::kApprover);  // named triggered_by
  auto by_triggerer = Approve(esc, alice);
  EXPECT_EQ(by_triggerer.status, 403);
  EXPECT_EQ(ErrorCode(by_triggerer), "separation_of_duties");
  EXPECT_EQ(ErrorCode(Reject(esc, alice, R"({"comment":"keep it"})")), "separation_of_duties");
  EXPECT_EQ(CountActions("rel-1"), 0);
}

TEST_F(ApprovalsTest, RolesThatMayNotApproveGet403) {
  Start(ApprovalClass("approval"));
  const std::string esc = Escalate();
  for (Role role : {Role::kDeployer, Role::kViewer, Role::kTelemetry}) {
    const std::string token = server->Token("r-" + std::string(RoleName(role)), role);
    EXPECT_EQ(Approve(esc, token).status, 403) << RoleName(role);
    EXPECT_EQ(Reject(esc, token, R"({"comment":"x"})").status, 403) << RoleName(role);
  }
  EXPECT_EQ(CountActions("rel-1"), 0);
  EXPECT_EQ(Approve(esc, admin).status, 200);  // admins may approve
}

TEST_F(ApprovalsTest, DualApprovalNeedsTwoDistinctApprovers) {
  Start(ApprovalClass("dual_approval"));
  const std::string esc = Escalate();
  const std::string sre1 = server->Token("sre-1", Role::kApprover);
  const std::string sre2 = server->Token("sre-2", Role::kApprover);
  auto first = Approve(esc, sre1);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(ParseJson(first.body).at("escalation").at("state").as_string(), "pending");
  EXPECT_EQ(ParseJson(first.body).at("escalation").at("required_approvals").as_int64(), 2);
  EXPECT_EQ(CountActions("rel-1"), 0);
  auto again = Approve(esc, sre1);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(ErrorCode(again), "already_approved");
  EXPECT_EQ(CountActions("rel-1"), 0);
  auto second = Approve(esc, sre2);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(ParseJson(second.body).at("escalation").at("state").as_string(), "approved");
  EXPECT_EQ(CountActions("rel-1"), 1);
  auto late = Approve(esc, server->Token("sre-3", Role::kApprover));
  EXPECT_EQ(late.status, 409);
  EXPECT_EQ(ErrorCode(late), "approved");
}

TEST_F(ApprovalsTest, ApproveAfterExpiryIs409Expired) {
  Start(ApprovalClass("approval", "1s"));
  const std::string esc = Escalate();
  std::this_thread::sleep_for(1500ms);
  auto r = Approve(esc, server->Token("sre-1", Role::kApprover));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ErrorCode(r), "expired");
  EXPECT_EQ(CountActions("rel-1"), 0);
  auto e = ParseJson(server->Request("GET", "/v1/escalations/" + esc, admin).body).at("escalation");
  EXPECT_EQ(e.at("state").as_string(), "expired");
  EXPECT_EQ(Status("rel-1"), "escalated");
}

TEST_F(ApprovalsTest, StillDegradedAfterExpiryOpensAFreshEscalation) {
  Start(ApprovalClass("approval", "1s"));
  const std::string first = Escalate();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::string second;
  while (second.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    auto list = ParseJson(server->Request("GET", "/v1/escalations?state=pending&release_id=rel-1", admin).body)
                    .at("escalations").as_array();
    if (!list.empty() && list[0].at("id").as_string() != first) second = std::string(list[0].at("id").as_string());
  }
  EXPECT_FALSE(second.empty());
  auto old = ParseJson(server->Request("GET", "/v1/escalations/" + first, admin).body).at("escalation");
  EXPECT_EQ(old.at("state").as_string(), "expired");
}

TEST_F(ApprovalsTest, RejectNeedsACommentAndKeepsTheRelease) {
  Start(ApprovalClass("approval"));
  const std::string esc = Escalate();
  const std::string sre = server->Token("sre-1", Role::kApprover);
  EXPECT_EQ(Reject(esc, sre, R"({})").status, 400);
  EXPECT_EQ(server->Request("POST", "/v1/escalations/" + esc + "/reject", sre, "", "").status, 400);
  EXPECT_EQ(Reject(esc, sre, R"({"comment":"  "})").status, 400);
  auto r = Reject(esc, sre, R"({"comment":"known flaky dependency, keeping v2"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ParseJson(r.body).at("escalation").at("state").as_string(), "rejected");
  EXPECT_EQ(Status("rel-1"), "rollback_rejected");
  auto after = Approve(esc, server->Token("sre-2", Role::kApprover));
  EXPECT_EQ(after.status, 409);
  EXPECT_EQ(ErrorCode(after), "rejected");
  std::this_thread::sleep_for(300ms);  // no new decision in this episode
  EXPECT_EQ(CountActions("rel-1"), 0);
  auto pending = ParseJson(server->Request("GET", "/v1/escalations?state=pending", admin).body);
  EXPECT_TRUE(pending.at("escalations").as_array().empty());
}

TEST_F(ApprovalsTest, NewReleaseSupersedesThePendingEscalation) {
  Start(ApprovalClass("approval"));
  const std::string esc = Escalate();
  ASSERT_EQ(PostDeployment(*server, deployer,
                           R"({"id":"rel-2","service":"checkout","environment":"prod","version":"v3",)"
                           R"("previous_version":"v2","release_class":"gated","traffic_percent":10})").status,
            201);
  auto r = Approve(esc, server->Token("sre-1", Role::kApprover));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ErrorCode(r), "superseded");
  EXPECT_EQ(CountActions("rel-1"), 0);
}

TEST_F(ApprovalsTest, IntentChangedWhenANewerReleaseAppearedWithoutSupersession) {
  Start(ApprovalClass("approval"));
  const std::string esc = Escalate();
  {
    // A newer release row that did not go through the API (another writer).
    auto conn = server->db().Connect();
    pqxx::work tx(*conn);
    tx.exec0("INSERT INTO releases (id, service, environment, version, release_class, thresholds_version, "
             "traffic_percent, status, deployed_by, request_body) "
             "VALUES ('rel-x', 'checkout', 'prod', 'v9', 'gated', 1, 1, 'evaluating', 'other', '{}')");
    tx.commit();
  }
  auto r = Approve(esc, server->Token("sre-1", Role::kApprover));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ErrorCode(r), "intent_changed");
  EXPECT_EQ(CountActions("rel-1"), 0);
}

TEST_F(ApprovalsTest, TwentyConcurrentApprovalsQueueExactlyOneAction) {
  Start(ApprovalClass("approval"));
  const std::string esc = Escalate();
  constexpr int kApprovers = 20;
  std::vector<std::string> tokens;
  for (int i = 0; i < kApprovers; ++i) tokens.push_back(server->Token("sre-" + std::to_string(i), Role::kApprover));
  std::vector<int> statuses(kApprovers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kApprovers; ++i) {
    threads.emplace_back([&, i] { statuses[i] = Approve(esc, tokens[i]).status; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 409), kApprovers - 1);
  EXPECT_EQ(CountActions("rel-1"), 1);
}

TEST_F(ApprovalsTest, IrreversibleClassProposesContainmentAndApprovalQueuesNothing) {
  Start(ApprovalClass("approval", "1h", "irreversible"));
  const std::string esc = Escalate();
  auto e = ParseJson(server->Request("GET", "/v1/escalations/" + esc, admin).body).at("escalation");
  EXPECT_EQ(e.at("proposed_action").at("type").as_string(), "contain");
  EXPECT_TRUE(e.at("proposed_action").at("to_version").is_null());
  auto r = Approve(esc, server->Token("sre-1", Role::kApprover));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ParseJson(r.body).at("escalation").at("state").as_string(), "approved");
  EXPECT_EQ(CountActions("rel-1"), 0);
}

TEST_F(ApprovalsTest, UnknownEscalationIs404) {
  Start(ApprovalClass("approval"));
  EXPECT_EQ(Approve("no-such-escalation", server->Token("sre-1", Role::kApprover)).status, 404);
}

}  // namespace
}  // namespace backstop::testing
