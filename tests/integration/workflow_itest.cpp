// The release state machine against the real database, one workflow step at
// a time: each test calls src/workflow/ functions on its own transactions
// (no server, no evaluator thread, no sleeps) and reads the rows back with SQL.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "backstop/actions/action_request.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/decision/decide.hpp"
#include "backstop/domain/mode.hpp"
#include "backstop/domain/states.hpp"
#include "backstop/policy/policy_registry.hpp"
#include "backstop/policy/threshold_parser.hpp"
#include "backstop/store/evaluator_lease_repository.hpp"
#include "backstop/store/mode_repository.hpp"
#include "backstop/store/release_repository.hpp"
#include "backstop/store/threshold_repository.hpp"
#include "backstop/workflow/action_outcome.hpp"
#include "backstop/workflow/approval_flow.hpp"
#include "backstop/workflow/decision_commit.hpp"
#include "backstop/workflow/escalations.hpp"
#include "backstop/workflow/notifications.hpp"
#include "backstop/store/notification_repository.hpp"
#include "backstop/workflow/release_registration.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

using namespace std::chrono_literals;
using domain::ReleaseStatus;

constexpr const char* kDeployer = "ci-bot";
constexpr const char* kTriggeredBy = "alice";
constexpr const char* kEvaluator = "evaluator-a";
constexpr const char* kSignal = "http_5xx_ratio";
constexpr double kBreaching = 0.5;  // the classes' bound is 0.05
constexpr double kPassing = 0.01;

// A class that decides on the first evaluation: breach_for 0s, 5 samples,
// one critical bound on the 5xx ratio, questions open for an hour.
std::string ClassYaml(const std::string& name, const std::string& automation) {
  const std::string reversibility = automation == "auto" ? "reversible_with_state" : "reversible_with_backup";
  return "release_class: " + name + "\nversion: 1\nreversibility: " + reversibility + "\nautomation: " +
         automation +
         "\napproval:\n  ttl: 1h\n"
         "evaluation:\n  window: 5m\n  min_samples: 5\n  max_staleness: 5m\n  breach_for: 0s\n  duration: 1h\n"
         "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n";
}

// Five samples of `value`, one a second, the newest at `now`.
decision::TelemetrySnapshot Telemetry(double value, TimePoint now) {
  decision::SeriesPair series{kSignal, "default", {}, {}};
  for (int i = 0; i < 5; ++i) series.canary.push_back({now - std::chrono::seconds(i), value});
  return decision::TelemetrySnapshot{{series}};
}

class WorkflowTest : public ::testing::Test {
 protected:
  // Three classes: `web` rolls back by itself, `gated` asks one approver,
  // `dual` asks two.
  void SetUp() override {
    conn_ = db_.Connect();
    std::vector<policy::ThresholdSet> sets;
    pqxx::work tx(*conn_);
    for (const auto& [name, automation] : {std::pair<std::string, std::string>{"web", "auto"},
                                           {"gated", "approval"},
                                           {"dual", "dual_approval"}}) {
      const policy::ParseResult parsed = policy::ParseThresholdYaml(ClassYaml(name, automation), name + ".yaml");
      ASSERT_TRUE(parsed.set) << name << ": " << parsed.errors.front().ToString();
      ASSERT_EQ(store::ThresholdRepository::Store(tx, name + ".yaml", parsed, "test").result, "loaded");
      sets.push_back(*parsed.set);
    }
    tx.commit();
    registry_.Replace(std::move(sets));
  }

  // checkout v2 replacing v1 on 10 % of traffic, triggered by alice.
  static store::NewRelease Deployment(const std::string& id, const std::string& release_class,
                                      const std::string& environment = "prod") {
    store::NewRelease r;
    r.id = id;
    r.id_from_client = true;
    r.service = "checkout";
    r.environment = environment;
    r.version = "v2";
    r.previous_version = "v1";
    r.release_class = release_class;
    r.traffic_percent = 10;
    r.triggered_by = kTriggeredBy;
    r.request_body = boost::json::serialize(boost::json::object{{"id", id},
                                                                {"service", r.service},
                                                                {"environment", environment},
                                                                {"version", "v2"},
                                                                {"previous_version", "v1"},
                                                                {"release_class", release_class},
                                                                {"traffic_percent", 10},
                                                                {"triggered_by", kTriggeredBy}});
    return r;
  }

  Result<store::RegisterOutcome> Register(const store::NewRelease& r) {
    pqxx::work tx(*conn_);
    auto out = workflow::RegisterRelease(tx, notifiers_, r, kDeployer);
    tx.commit();
    return out;
  }

  void Register(const std::string& id, const std::string& release_class, const std::string& environment = "prod") {
    const auto out = Register(Deployment(id, release_class, environment));
    ASSERT_TRUE(out) << out.error().message;
    ASSERT_TRUE(out->created);
  }

  workflow::LeaseFence HoldLease() {
    pqxx::work tx(*conn_);
    const auto epoch = store::EvaluatorLeaseRepository::Acquire(tx, kEvaluator, 10min);
    tx.commit();
    EXPECT_TRUE(epoch.has_value());
    return workflow::LeaseFence{kEvaluator, epoch.value_or(-1)};
  }

  // One deciding transaction over five samples of `value` ending at `now`.
  workflow::CommittedDecision Evaluate(const std::string& id, double value, const workflow::LeaseFence& fence,
                                       std::optional<TimePoint> at = std::nullopt) {
    const store::Release release = *Release(id);
    const auto set = registry_.Find(release.release_class, release.thresholds_version);
    EXPECT_NE(set, nullptr);
    const TimePoint now = at.value_or(NowMicros());
    const decision::TelemetrySnapshot telemetry = Telemetry(value, now);
    const decision::EvaluationHistory history;
    pqxx::work tx(*conn_);
    auto out = workflow::CommitDecision(tx, fence, notifiers_, workflow::DecisionInput{id, *set, telemetry, history, now, "log"});
    tx.commit();
    return out;
  }

  // A breaching release of an approval class with its escalation open; returns the escalation id.
  std::string Escalate(const std::string& id, const std::string& release_class = "gated") {
    Register(id, release_class);
    EXPECT_EQ(Evaluate(id, kBreaching, HoldLease()).kind, decision::DecisionKind::kEscalate);
    return PendingEscalation(id);
  }

  // A breaching release of the auto class, its rollback queued.
  void AutoRollBack(const std::string& id) {
    Register(id, "web");
    EXPECT_EQ(Evaluate(id, kBreaching, HoldLease()).kind, decision::DecisionKind::kAutoRollback);
  }

  Result<workflow::ApprovalOutcome> Decide(const std::string& escalation_id, const std::string& actor,
                                           approvals::Verdict verdict = approvals::Verdict::kApprove,
                                           std::optional<std::string> comment = std::nullopt) {
    pqxx::work tx(*conn_);
    auto config = TestConfig("");
    config.notifiers = notifiers_;
    auto out = workflow::DecideEscalation(tx, config,
                                          workflow::ApprovalRequest{escalation_id, actor, verdict, comment});
    tx.commit();
    return out;
  }

  std::optional<store::ClaimedAction> Claim(const std::string& worker) {
    pqxx::work tx(*conn_);
    auto claimed = workflow::ClaimNextAction(tx, worker, 30s);
    tx.commit();
    return claimed;
  }

  workflow::RecordedOutcome Complete(const std::string& worker, const store::ClaimedAction& claimed,
                                     actions::Outcome outcome, int max_attempts = 5) {
    workflow::AttemptReport report;
    report.result.outcome = outcome;
    report.result.http_status = outcome == actions::Outcome::kSucceeded ? 200 : 502;
    if (outcome != actions::Outcome::kSucceeded) report.result.error = "receiver answered 502";
    report.seconds = 0.25;
    report.max_attempts = max_attempts;
    report.executor = "log";
    report.jitter = 0.5;
    pqxx::work tx(*conn_);
    auto out = workflow::RecordActionOutcome(tx, registry_, notifiers_, worker, claimed, report);
    tx.commit();
    return out;
  }

  std::vector<store::EscalationRow> ExpireDue() {
    pqxx::work tx(*conn_);
    auto out = workflow::ExpireDueEscalations(tx, notifiers_);
    tx.commit();
    return out;
  }

  // Moves an escalation two hours into the past, keeping its ttl: it is due.
  void Backdate(const std::string& escalation_id) {
    pqxx::work tx(*conn_);
    tx.exec_params0(
        "UPDATE escalations SET created_at = created_at - interval '2 hours', "
        "expires_at = expires_at - interval '2 hours' WHERE id = $1",
        escalation_id);
    tx.commit();
  }

  template <typename... Args>
  pqxx::result Query(const std::string& sql, const Args&... args) {
    pqxx::read_transaction tx(*conn_);
    return tx.exec_params(sql, args...);
  }

  template <typename T, typename... Args>
  T Scalar(const std::string& sql, const Args&... args) {
    const pqxx::result r = Query(sql, args...);
    if (r.size() != 1) throw std::runtime_error("expected one row from: " + sql);
    return r[0][0].as<T>();
  }

  std::optional<store::Release> Release(const std::string& id) {
    pqxx::read_transaction tx(*conn_);
    return store::ReleaseRepository::Find(tx, id);
  }
  std::string Status(const std::string& id) {
    return Scalar<std::string>("SELECT status FROM releases WHERE id = $1", id);
  }
  int Episode(const std::string& id) { return Scalar<int>("SELECT episode FROM releases WHERE id = $1", id); }
  std::string EscalationState(const std::string& id) {
    return Scalar<std::string>("SELECT state FROM escalations WHERE id = $1", id);
  }
  int Count(const std::string& table, const std::string& release_id) {
    return Scalar<int>("SELECT count(*) FROM " + table + " WHERE release_id = $1", release_id);
  }
  std::string PendingEscalation(const std::string& release_id) {
    const pqxx::result r =
        Query("SELECT id FROM escalations WHERE release_id = $1 AND state = 'pending'", release_id);
    EXPECT_EQ(r.size(), 1u) << "pending escalations of " << release_id;
    return r.empty() ? "" : r[0][0].as<std::string>();
  }

  // The audit kinds of a release, oldest first. By id, the order written:
  // entries are sealed (given their seq) shortly after their commit.
  std::vector<std::string> AuditKinds(const std::string& release_id) {
    std::vector<std::string> out;
    for (const auto& row : Query("SELECT kind FROM audit_log WHERE release_id = $1 ORDER BY id", release_id)) {
      out.push_back(row[0].as<std::string>());
    }
    return out;
  }
  // The payload of the newest audit entry of `kind` for the release.
  boost::json::object AuditPayload(const std::string& release_id, const std::string& kind) {
    const pqxx::result r = Query(
        "SELECT payload::text FROM audit_log WHERE release_id = $1 AND kind = $2 ORDER BY id DESC LIMIT 1",
        release_id, kind);
    if (r.empty()) {
      ADD_FAILURE() << "no " << kind << " audit entry for " << release_id;
      return {};
    }
    return boost::json::parse(r[0][0].as<std::string>()).as_object();
  }
  // The id of the newest audit entry written, sealed or not.
  std::int64_t AuditId() { return Scalar<std::int64_t>("SELECT coalesce(max(id), 0) FROM audit_log"); }

  static std::vector<std::string> Strings(const std::string& json_array) {
    std::vector<std::string> out;
    const boost::json::value parsed = boost::json::parse(json_array);
    for (const auto& v : parsed.as_array()) out.emplace_back(v.as_string());
    return out;
  }
  using Kinds = std::vector<std::string>;

  TestDatabase db_;
  std::unique_ptr<pqxx::connection> conn_;
  policy::PolicyRegistry registry_;
  config::Notifiers notifiers_;  // none unless a test configures some
};

// ---- ReleaseRepository::Transition ------------------------------------------

// Registrations of one service/environment serialize on its advisory lock
// (the release INSERT takes it; a registration that reads first takes it
// before reading). On every path -- client id and previous version, no
// previous version (inferred), no client id (a retry is matched) -- the
// lock is held from the registration until its transaction ends.
TEST_F(WorkflowTest, EveryRegistrationPathHoldsTheServiceEnvironmentLockUntilCommit) {
  struct Path {
    const char* name;
    bool id_from_client;
    bool previous_version;
  };
  const Path paths[] = {{"id and previous version", true, true},
                        {"previous version inferred", true, false},
                        {"no client id", false, true},
                        {"neither", false, false}};
  auto other = db_.Connect();
  const auto lock_free = [&] {
    pqxx::work probe(*other);
    const bool free = probe.exec1("SELECT pg_try_advisory_xact_lock(hashtextextended('release:checkout/prod', 0))")[0]
                          .as<bool>();
    probe.abort();
    return free;
  };
  int n = 0;
  for (const auto& path : paths) {
    store::NewRelease r = Deployment("lock-" + std::to_string(++n), "web");
    r.id_from_client = path.id_from_client;
    if (!path.previous_version) r.previous_version.reset();
    r.version = "v" + std::to_string(10 + n);
    ASSERT_TRUE(lock_free()) << path.name;
    pqxx::work tx(*conn_);
    const auto out = workflow::RegisterRelease(tx, notifiers_, r, kDeployer);
    ASSERT_TRUE(out) << path.name << ": " << out.error().message;
    EXPECT_TRUE(out->created) << path.name;
    EXPECT_FALSE(lock_free()) << path.name << ": the lock is not held before commit";
    tx.commit();
    EXPECT_TRUE(lock_free()) << path.name;
  }
}

TEST_F(WorkflowTest, TransitionMovesAReleaseWhoseStatusIsAllowed) {
  Register("rel-1", "web");
  pqxx::work tx(*conn_);
  EXPECT_TRUE(store::ReleaseRepository::Transition(tx, "rel-1", {ReleaseStatus::kEvaluating, ReleaseStatus::kEscalated},
                                                   ReleaseStatus::kRollingBack));
  tx.commit();
  EXPECT_EQ(Status("rel-1"), "rolling_back");
}

TEST_F(WorkflowTest, TransitionFromAStatusNotAllowedChangesNothing) {
  Register("rel-1", "web");
  pqxx::work tx(*conn_);
  // escalated -> rolling_back is a legal move, but rel-1 is evaluating.
  EXPECT_FALSE(store::ReleaseRepository::Transition(tx, "rel-1", {ReleaseStatus::kEscalated},
                                                    ReleaseStatus::kRollingBack));
  tx.commit();
  EXPECT_EQ(Status("rel-1"), "evaluating");
}

TEST_F(WorkflowTest, TransitionRefusesAnIllegalMoveAndChangesNothing) {
  Register("rel-1", "web");
  Register("rel-2", "web", "staging");
  {
    pqxx::work tx(*conn_);
    ASSERT_TRUE(store::ReleaseRepository::Transition(tx, "rel-1", {ReleaseStatus::kEvaluating},
                                                     ReleaseStatus::kHealthy));
    ASSERT_TRUE(store::ReleaseRepository::Transition(tx, "rel-2", {ReleaseStatus::kEvaluating},
                                                     ReleaseStatus::kRollingBack));
    ASSERT_TRUE(store::ReleaseRepository::Transition(tx, "rel-2", {ReleaseStatus::kRollingBack},
                                                     ReleaseStatus::kRolledBack));
    tx.commit();
  }
  pqxx::work tx(*conn_);
  EXPECT_THROW(store::ReleaseRepository::Transition(tx, "rel-1", {ReleaseStatus::kHealthy},
                                                    ReleaseStatus::kRollingBack),
               std::logic_error);
  EXPECT_THROW(store::ReleaseRepository::Transition(tx, "rel-2", {ReleaseStatus::kRolledBack},
                                                    ReleaseStatus::kEvaluating),
               std::logic_error);
  // One illegal source among legal ones is refused as a whole.
  EXPECT_THROW(store::ReleaseRepository::Transition(tx, "rel-1", {ReleaseStatus::kEscalated, ReleaseStatus::kHealthy},
                                                    ReleaseStatus::kRollingBack),
               std::logic_error);
  tx.commit();
  EXPECT_EQ(Status("rel-1"), "healthy");
  EXPECT_EQ(Status("rel-2"), "rolled_back");
}

// ---- RegisterRelease ----------------------------------------------------------

TEST_F(WorkflowTest, NewReleaseSupersedesThePreviousOneAndItsPendingEscalation) {
  const std::string esc = Escalate("rel-1");
  Register("rel-other-env", "gated", "staging");
  const std::int64_t before = AuditId();

  pqxx::work tx(*conn_);
  const auto out = workflow::RegisterRelease(tx, notifiers_, Deployment("rel-2", "gated"), kDeployer);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_TRUE(out->created);
  EXPECT_EQ(out->superseded, std::vector<std::string>{"rel-1"});
  // Audited in the registering transaction itself.
  std::vector<std::pair<std::string, std::string>> audited;
  for (const auto& row : tx.exec_params("SELECT kind, release_id FROM audit_log WHERE id > $1 ORDER BY id", before)) {
    audited.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
  }
  const std::vector<std::pair<std::string, std::string>> expected{
      {"release.superseded", "rel-1"}, {"escalation.superseded", "rel-1"}, {"release.registered", "rel-2"}};
  EXPECT_EQ(audited, expected);
  tx.commit();

  EXPECT_EQ(Status("rel-1"), "superseded");
  EXPECT_EQ(EscalationState(esc), "superseded");
  EXPECT_EQ(Status("rel-2"), "evaluating");
  EXPECT_EQ(Status("rel-other-env"), "evaluating");
  EXPECT_EQ(AuditPayload("rel-1", "escalation.superseded").at("escalation_id").as_string(), esc);
  EXPECT_EQ(AuditPayload("rel-1", "release.superseded").at("superseded_by").as_string(), "rel-2");
  // A superseded question can no longer be approved.
  const auto refused = Decide(esc, "sre-1");
  ASSERT_TRUE(refused);
  ASSERT_TRUE(refused->refused);
  EXPECT_EQ(refused->refused->code, "superseded");
  EXPECT_EQ(Count("actions", "rel-1"), 0);
}

TEST_F(WorkflowTest, ReplayingTheSameDeploymentCreatesNothing) {
  Register("rel-1", "web");
  const std::int64_t before = AuditId();
  store::NewRelease replay = Deployment("rel-1", "web");
  // Equal as JSON: other key order and 10.0 for 10.
  replay.request_body =
      R"({"triggered_by":"alice","traffic_percent":10.0,"release_class":"web","previous_version":"v1",)"
      R"("version":"v2","environment":"prod","service":"checkout","id":"rel-1"})";
  const auto out = Register(replay);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_FALSE(out->created);
  EXPECT_EQ(out->release.id, "rel-1");
  EXPECT_TRUE(out->superseded.empty());
  EXPECT_EQ(Scalar<int>("SELECT count(*) FROM releases"), 1);
  EXPECT_EQ(AuditId(), before);
  EXPECT_EQ(Status("rel-1"), "evaluating");
}

TEST_F(WorkflowTest, SameIdWithAnotherBodyIsAnIdempotencyMismatch) {
  Register("rel-1", "web");
  const std::int64_t before = AuditId();
  store::NewRelease other = Deployment("rel-1", "web");
  other.version = "v3";
  other.request_body = R"({"id":"rel-1","service":"checkout","version":"v3"})";
  const auto out = Register(other);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(out.error().code, "idempotency_mismatch");
  EXPECT_EQ(Release("rel-1")->version, "v2");
  EXPECT_EQ(AuditId(), before);
}

// ---- CommitDecision -----------------------------------------------------------

TEST_F(WorkflowTest, BreachOfAnAutoClassQueuesOneAutomaticRollback) {
  Register("rel-1", "web");
  const auto d = Evaluate("rel-1", kBreaching, HoldLease());
  EXPECT_EQ(d.kind, decision::DecisionKind::kAutoRollback);
  EXPECT_EQ(d.status, ReleaseStatus::kRollingBack);
  EXPECT_FALSE(d.already_decided);

  const pqxx::result decisions = Query("SELECT id, decision, reasons::text, episode FROM decisions WHERE release_id = $1",
                                       std::string("rel-1"));
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0][1].as<std::string>(), "auto_rollback");
  EXPECT_EQ(Strings(decisions[0][2].as<std::string>()), std::vector<std::string>{"signal.breach"});
  EXPECT_EQ(decisions[0][3].as<int>(), 1);

  const pqxx::result actions = Query(
      "SELECT id, state, decided_by, from_version, to_version, decision_id, escalation_id, approvers::text, "
      "executor FROM actions WHERE release_id = $1",
      std::string("rel-1"));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0][1].as<std::string>(), "pending");
  EXPECT_EQ(actions[0][2].as<std::string>(), "auto");
  EXPECT_EQ(actions[0][3].as<std::string>(), "v2");
  EXPECT_EQ(actions[0][4].as<std::string>(), "v1");
  EXPECT_EQ(actions[0][5].as<std::string>(), decisions[0][0].as<std::string>());
  EXPECT_TRUE(actions[0][6].is_null());
  EXPECT_TRUE(Strings(actions[0][7].as<std::string>()).empty());
  EXPECT_EQ(actions[0][8].as<std::string>(), "log");

  EXPECT_EQ(Status("rel-1"), "rolling_back");
  EXPECT_EQ(Count("escalations", "rel-1"), 0);
  EXPECT_EQ(AuditKinds("rel-1"), (Kinds{"release.registered", "decision.auto_rollback"}));
  const auto payload = AuditPayload("rel-1", "decision.auto_rollback");
  EXPECT_EQ(payload.at("action_id").as_string(), actions[0][0].as<std::string>());
  EXPECT_EQ(payload.at("decision_id").as_string(), decisions[0][0].as<std::string>());
}

TEST_F(WorkflowTest, SecondDecisionInTheSameEpisodeWritesNothing) {
  AutoRollBack("rel-1");
  const std::int64_t before = AuditId();
  const auto again = Evaluate("rel-1", kBreaching, HoldLease());
  EXPECT_EQ(again.kind, decision::DecisionKind::kNone);
  EXPECT_EQ(Count("decisions", "rel-1"), 1);
  EXPECT_EQ(Count("actions", "rel-1"), 1);
  EXPECT_EQ(Count("escalations", "rel-1"), 0);
  EXPECT_EQ(AuditId(), before);
  EXPECT_EQ(Status("rel-1"), "rolling_back");
}

TEST_F(WorkflowTest, DecisionFencedOutByAnotherLeaseEpochWritesNothing) {
  Register("rel-1", "web");
  const workflow::LeaseFence held = HoldLease();
  const std::int64_t before = AuditId();

  for (const auto& fence : {workflow::LeaseFence{held.owner, held.epoch + 1},
                            workflow::LeaseFence{held.owner, held.epoch - 1},
                            workflow::LeaseFence{"evaluator-b", held.epoch}}) {
    const auto d = Evaluate("rel-1", kBreaching, fence);
    EXPECT_EQ(d.kind, decision::DecisionKind::kNone) << fence.owner << "@" << fence.epoch;
    EXPECT_FALSE(d.already_decided);
  }
  EXPECT_EQ(Count("decisions", "rel-1"), 0);
  EXPECT_EQ(Count("actions", "rel-1"), 0);
  EXPECT_EQ(Count("escalations", "rel-1"), 0);
  EXPECT_EQ(Status("rel-1"), "evaluating");
  EXPECT_EQ(AuditId(), before);

  // The holder of the lease still decides.
  EXPECT_EQ(Evaluate("rel-1", kBreaching, held).kind, decision::DecisionKind::kAutoRollback);
}

TEST_F(WorkflowTest, BreachOfAnApprovalClassOpensOnePendingEscalation) {
  Register("rel-1", "gated");
  const auto d = Evaluate("rel-1", kBreaching, HoldLease());
  EXPECT_EQ(d.kind, decision::DecisionKind::kEscalate);
  EXPECT_EQ(d.status, ReleaseStatus::kEscalated);

  const std::string decision_id = Scalar<std::string>("SELECT id FROM decisions WHERE release_id = $1 "
                                                      "AND decision = 'escalate'",
                                                      std::string("rel-1"));
  const pqxx::result esc = Query(
      "SELECT id, state, decision_id, proposed_type, from_version, to_version, reasons::text, required_approvals, "
      "expires_at > now() + interval '59 minutes' FROM escalations WHERE release_id = $1",
      std::string("rel-1"));
  ASSERT_EQ(esc.size(), 1u);
  EXPECT_EQ(esc[0][1].as<std::string>(), "pending");
  EXPECT_EQ(esc[0][2].as<std::string>(), decision_id);
  EXPECT_EQ(esc[0][3].as<std::string>(), "rollback");
  EXPECT_EQ(esc[0][4].as<std::string>(), "v2");
  EXPECT_EQ(esc[0][5].as<std::string>(), "v1");
  EXPECT_EQ(Strings(esc[0][6].as<std::string>()),
            (std::vector<std::string>{"signal.breach", "policy.approval_required"}));
  EXPECT_EQ(esc[0][7].as<int>(), 1);
  EXPECT_TRUE(esc[0][8].as<bool>()) << "expires after the class's 1h ttl";

  EXPECT_EQ(Status("rel-1"), "escalated");
  EXPECT_EQ(Count("actions", "rel-1"), 0);
  EXPECT_EQ(AuditKinds("rel-1"), (Kinds{"release.registered", "escalation.opened", "decision.escalate"}));
  EXPECT_EQ(AuditPayload("rel-1", "escalation.opened").at("escalation_id").as_string(),
            esc[0][0].as<std::string>());

  // While the question is pending, evaluation decides nothing new.
  EXPECT_EQ(Evaluate("rel-1", kBreaching, HoldLease()).kind, decision::DecisionKind::kNone);
  EXPECT_EQ(Count("escalations", "rel-1"), 1);
  EXPECT_EQ(Count("decisions", "rel-1"), 1);
}

TEST_F(WorkflowTest, DryRunRecordsTheWouldBeDecisionOncePerEpisode) {
  Register("rel-1", "web");
  {
    pqxx::work tx(*conn_);
    store::ModeRepository::Set(tx, Mode::kDryRun, "admin-1");
    tx.commit();
  }
  const auto first = Evaluate("rel-1", kBreaching, HoldLease());
  EXPECT_EQ(first.kind, decision::DecisionKind::kWouldRollback);
  EXPECT_EQ(Status("rel-1"), "evaluating");
  const auto second = Evaluate("rel-1", kBreaching, HoldLease());
  EXPECT_EQ(second.kind, decision::DecisionKind::kNone);
  EXPECT_TRUE(second.already_decided);

  EXPECT_EQ(Scalar<std::string>("SELECT decision || '/' || mode FROM decisions WHERE release_id = $1",
                                std::string("rel-1")),
            "would_rollback/dry_run");
  EXPECT_EQ(Count("actions", "rel-1"), 0);
  EXPECT_EQ(AuditKinds("rel-1"), (Kinds{"release.registered", "decision.would_rollback"}));
}

TEST_F(WorkflowTest, PassingReleaseBecomesHealthyOnceItsDurationIsOver) {
  Register("rel-1", "web");
  const TimePoint started = Release("rel-1")->started_at;
  EXPECT_EQ(Evaluate("rel-1", kPassing, HoldLease(), started + 30min).kind, decision::DecisionKind::kNone);
  EXPECT_EQ(Status("rel-1"), "evaluating");
  const auto d = Evaluate("rel-1", kPassing, HoldLease(), started + 61min);
  EXPECT_EQ(d.kind, decision::DecisionKind::kHealthy);
  EXPECT_EQ(Status("rel-1"), "healthy");
  EXPECT_EQ(AuditKinds("rel-1"), (Kinds{"release.registered", "decision.healthy"}));
}

// ---- DecideEscalation ---------------------------------------------------------

TEST_F(WorkflowTest, DeployerAndTriggererMayNotDecideOnTheirRelease) {
  const std::string esc = Escalate("rel-1");
  const std::int64_t before = AuditId();
  for (const std::string actor : {kDeployer, kTriggeredBy}) {
    for (const auto verdict : {approvals::Verdict::kApprove, approvals::Verdict::kReject}) {
      const auto out = Decide(esc, actor, verdict, "looks fine to me");
      ASSERT_TRUE(out) << out.error().message;
      ASSERT_TRUE(out->refused) << actor;
      EXPECT_EQ(out->refused->kind, ErrorKind::kForbidden);
      EXPECT_EQ(out->refused->code, "separation_of_duties");
      EXPECT_FALSE(out->final);
    }
  }
  EXPECT_EQ(EscalationState(esc), "pending");
  EXPECT_EQ(Scalar<int>("SELECT count(*) FROM approvals WHERE escalation_id = $1", esc), 0);
  EXPECT_EQ(Count("actions", "rel-1"), 0);
  EXPECT_EQ(Status("rel-1"), "escalated");
  EXPECT_EQ(AuditId(), before);
}

TEST_F(WorkflowTest, ApprovedRollbackQueuesTheProposedVersions) {
  const std::string esc = Escalate("rel-1");
  const auto out = Decide(esc, "sre-1", approvals::Verdict::kApprove, "confirmed in dashboards");
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_FALSE(out->refused) << out->refused->message;
  EXPECT_TRUE(out->final);
  EXPECT_EQ(out->escalation.state, domain::EscalationState::kApproved);

  const pqxx::result actions = Query(
      "SELECT id, state, decided_by, approvers::text, from_version, to_version, escalation_id, reasons::text "
      "FROM actions WHERE release_id = $1",
      std::string("rel-1"));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0][1].as<std::string>(), "pending");
  EXPECT_EQ(actions[0][2].as<std::string>(), "approval");
  EXPECT_EQ(Strings(actions[0][3].as<std::string>()), std::vector<std::string>{"sre-1"});
  EXPECT_EQ(actions[0][4].as<std::string>(), "v2");
  EXPECT_EQ(actions[0][5].as<std::string>(), "v1");
  EXPECT_EQ(actions[0][6].as<std::string>(), esc);
  EXPECT_EQ(Strings(actions[0][7].as<std::string>()),
            (std::vector<std::string>{"signal.breach", "policy.approval_required"}));

  EXPECT_EQ(Status("rel-1"), "rolling_back");
  EXPECT_EQ(EscalationState(esc), "approved");
  EXPECT_EQ(Scalar<std::string>("SELECT decided_by FROM escalations WHERE id = $1", esc), "sre-1");
  EXPECT_EQ(Scalar<std::string>("SELECT approver || ':' || comment FROM approvals WHERE escalation_id = $1", esc),
            "sre-1:confirmed in dashboards");
  const Kinds kinds = AuditKinds("rel-1");
  ASSERT_GE(kinds.size(), 2u);
  EXPECT_EQ(Kinds(kinds.end() - 2, kinds.end()), (Kinds{"escalation.approval_recorded", "escalation.approved"}));
  EXPECT_EQ(AuditPayload("rel-1", "escalation.approved").at("action_id").as_string(),
            actions[0][0].as<std::string>());
}

TEST_F(WorkflowTest, RejectedEscalationKeepsTheRelease) {
  const std::string esc = Escalate("rel-1");
  const auto out = Decide(esc, "sre-1", approvals::Verdict::kReject, "a known dependency blip");
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_FALSE(out->refused) << out->refused->message;
  EXPECT_TRUE(out->final);

  EXPECT_EQ(Status("rel-1"), "rollback_rejected");
  EXPECT_EQ(EscalationState(esc), "rejected");
  EXPECT_EQ(Scalar<std::string>("SELECT decided_by || ':' || comment FROM escalations WHERE id = $1", esc),
            "sre-1:a known dependency blip");
  EXPECT_EQ(Count("actions", "rel-1"), 0);
  EXPECT_EQ(AuditKinds("rel-1").back(), "escalation.rejected");

  // A decided question is not decided again.
  const auto again = Decide(esc, "sre-2");
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->refused);
  EXPECT_EQ(again->refused->code, "rejected");
  EXPECT_EQ(Count("actions", "rel-1"), 0);
}

TEST_F(WorkflowTest, DualApprovalWaitsForASecondIdentity) {
  const std::string esc = Escalate("rel-1", "dual");
  EXPECT_EQ(Scalar<int>("SELECT required_approvals FROM escalations WHERE id = $1", esc), 2);

  const auto first = Decide(esc, "sre-1");
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_FALSE(first->refused) << first->refused->message;
  EXPECT_FALSE(first->final);
  EXPECT_EQ(EscalationState(esc), "pending");
  EXPECT_EQ(Status("rel-1"), "escalated");
  EXPECT_EQ(Count("actions", "rel-1"), 0);

  const auto twice = Decide(esc, "sre-1");
  ASSERT_TRUE(twice) << twice.error().message;
  ASSERT_TRUE(twice->refused);
  EXPECT_EQ(twice->refused->kind, ErrorKind::kConflict);
  EXPECT_EQ(twice->refused->code, "already_approved");
  EXPECT_EQ(Scalar<int>("SELECT count(*) FROM approvals WHERE escalation_id = $1", esc), 1);
  EXPECT_EQ(Count("actions", "rel-1"), 0);

  const auto second = Decide(esc, "sre-2");
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_FALSE(second->refused) << second->refused->message;
  EXPECT_TRUE(second->final);
  EXPECT_EQ(EscalationState(esc), "approved");
  EXPECT_EQ(Status("rel-1"), "rolling_back");
  EXPECT_EQ(Strings(Scalar<std::string>("SELECT approvers::text FROM actions WHERE release_id = $1",
                                        std::string("rel-1"))),
            (std::vector<std::string>{"sre-1", "sre-2"}));

  // Approving twice stays already_approved after the escalation closed.
  const auto late = Decide(esc, "sre-1");
  ASSERT_TRUE(late);
  ASSERT_TRUE(late->refused);
  EXPECT_EQ(late->refused->code, "already_approved");
  EXPECT_EQ(Count("actions", "rel-1"), 1);
}

TEST_F(WorkflowTest, DecidingAnUnknownEscalationIsNotFound) {
  const auto out = Decide("no-such-escalation", "sre-1");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::kNotFound);
}

// ---- ClaimNextAction and RecordActionOutcome ----------------------------------

TEST_F(WorkflowTest, ClaimRunsAttemptOneUnderTheWorkersLease) {
  AutoRollBack("rel-1");
  const auto claimed = Claim("worker-1");
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->request.release_id, "rel-1");
  EXPECT_EQ(claimed->request.attempt, 1);
  EXPECT_EQ(claimed->request.from_version, "v2");
  EXPECT_EQ(claimed->request.to_version, "v1");
  EXPECT_EQ(claimed->request.decided_by, "auto");

  const pqxx::result row =
      Query("SELECT state, attempts, lease_owner, lease_expires_at > now() FROM actions WHERE id = $1",
            claimed->request.action_id);
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<std::string>(), "running");
  EXPECT_EQ(row[0][1].as<int>(), 1);
  EXPECT_EQ(row[0][2].as<std::string>(), "worker-1");
  EXPECT_TRUE(row[0][3].as<bool>());
  EXPECT_EQ(Scalar<std::string>("SELECT attempt || ':' || worker FROM action_attempts WHERE action_id = $1",
                                claimed->request.action_id),
            "1:worker-1");
  EXPECT_EQ(AuditKinds("rel-1").back(), "action.attempted");
  EXPECT_EQ(AuditPayload("rel-1", "action.attempted").at("worker").as_string(), "worker-1");

  // A live lease keeps the action from a second worker.
  EXPECT_FALSE(Claim("worker-2"));
}

TEST_F(WorkflowTest, SucceededRollbackMarksTheReleaseRolledBack) {
  AutoRollBack("rel-1");
  const auto claimed = Claim("worker-1");
  ASSERT_TRUE(claimed);
  const auto out = Complete("worker-1", *claimed, actions::Outcome::kSucceeded);
  EXPECT_FALSE(out.stale);
  EXPECT_EQ(out.state, domain::ActionState::kSucceeded);

  const pqxx::result row = Query("SELECT state, lease_owner, finished_at IS NOT NULL FROM actions WHERE id = $1",
                                 claimed->request.action_id);
  EXPECT_EQ(row[0][0].as<std::string>(), "succeeded");
  EXPECT_TRUE(row[0][1].is_null());
  EXPECT_TRUE(row[0][2].as<bool>());
  EXPECT_EQ(Scalar<std::string>("SELECT outcome FROM action_attempts WHERE action_id = $1 AND attempt = 1",
                                claimed->request.action_id),
            "succeeded");
  EXPECT_EQ(Status("rel-1"), "rolled_back");
  EXPECT_EQ(Count("escalations", "rel-1"), 0);
  EXPECT_EQ(AuditKinds("rel-1").back(), "action.succeeded");
  // Done is done: nothing left to claim.
  EXPECT_FALSE(Claim("worker-1"));
}

TEST_F(WorkflowTest, FailedRollbackMarksTheReleaseFailedAndAsksAHuman) {
  AutoRollBack("rel-1");
  const auto claimed = Claim("worker-1");
  ASSERT_TRUE(claimed);
  const auto out = Complete("worker-1", *claimed, actions::Outcome::kFailed);
  EXPECT_FALSE(out.stale);
  EXPECT_EQ(out.state, domain::ActionState::kFailed);

  EXPECT_EQ(Scalar<std::string>("SELECT state || ':' || last_error FROM actions WHERE id = $1",
                                claimed->request.action_id),
            "failed:receiver answered 502");
  EXPECT_EQ(Status("rel-1"), "rollback_failed");
  const std::string esc = PendingEscalation("rel-1");
  const pqxx::result row = Query(
      "SELECT reasons::text, proposed_type, from_version, to_version, decision_id, required_approvals, "
      "evidence::json->>'action_id' FROM escalations WHERE id = $1",
      esc);
  EXPECT_EQ(Strings(row[0][0].as<std::string>()), std::vector<std::string>{"rollback.failed"});
  EXPECT_EQ(row[0][1].as<std::string>(), "rollback");
  EXPECT_EQ(row[0][2].as<std::string>(), "v2");
  EXPECT_EQ(row[0][3].as<std::string>(), "v1");
  EXPECT_TRUE(row[0][4].is_null());
  EXPECT_EQ(row[0][5].as<int>(), 1);
  EXPECT_EQ(row[0][6].as<std::string>(), claimed->request.action_id);

  const Kinds kinds = AuditKinds("rel-1");
  ASSERT_GE(kinds.size(), 2u);
  EXPECT_EQ(Kinds(kinds.end() - 2, kinds.end()), (Kinds{"escalation.opened", "action.failed"}));
  EXPECT_EQ(AuditPayload("rel-1", "action.failed").at("escalation_id").as_string(), esc);

  // Approving it queues a new rollback.
  const auto approved = Decide(esc, "sre-1");
  ASSERT_TRUE(approved) << approved.error().message;
  ASSERT_FALSE(approved->refused) << approved->refused->message;
  EXPECT_EQ(Status("rel-1"), "rolling_back");
  EXPECT_EQ(Scalar<int>("SELECT count(*) FROM actions WHERE release_id = $1 AND state = 'pending' "
                        "AND decided_by = 'approval'",
                        std::string("rel-1")),
            1);
}

TEST_F(WorkflowTest, RetryableFailureWaitsForABackoffUntilAttemptsRunOut) {
  AutoRollBack("rel-1");
  const auto first = Claim("worker-1");
  ASSERT_TRUE(first);
  const auto retry = Complete("worker-1", *first, actions::Outcome::kRetry, /*max_attempts=*/2);
  EXPECT_EQ(retry.state, domain::ActionState::kPending);
  // Full jitter 0.5 of the first 200 ms step, from the moment it was recorded.
  EXPECT_TRUE(Scalar<bool>("SELECT state = 'pending' AND lease_owner IS NULL "
                           "AND next_attempt_at - updated_at = interval '100 milliseconds' FROM actions WHERE id = $1",
                           first->request.action_id));
  EXPECT_EQ(Status("rel-1"), "rolling_back");
  EXPECT_EQ(AuditKinds("rel-1").back(), "action.attempt_failed");
  EXPECT_EQ(AuditPayload("rel-1", "action.attempt_failed").at("retry_in_ms").as_int64(), 100);

  {
    pqxx::work tx(*conn_);
    tx.exec_params0("UPDATE actions SET next_attempt_at = now() - interval '1 second' WHERE id = $1",
                    first->request.action_id);
    tx.commit();
  }
  const auto second = Claim("worker-1");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->request.attempt, 2);
  const auto last = Complete("worker-1", *second, actions::Outcome::kRetry, /*max_attempts=*/2);
  EXPECT_EQ(last.state, domain::ActionState::kFailed);
  EXPECT_EQ(Status("rel-1"), "rollback_failed");
  EXPECT_EQ(Scalar<std::string>("SELECT outcome FROM action_attempts WHERE action_id = $1 AND attempt = 2",
                                second->request.action_id),
            "retry");
  EXPECT_FALSE(PendingEscalation("rel-1").empty());
}

TEST_F(WorkflowTest, CompletionAfterTheLeaseWasTakenOverWritesNothing) {
  AutoRollBack("rel-1");
  const auto stale = Claim("worker-1");
  ASSERT_TRUE(stale);
  // worker-1's lease runs out; worker-2 takes the action over as attempt 2.
  {
    pqxx::work tx(*conn_);
    tx.exec_params0("UPDATE actions SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
                    stale->request.action_id);
    tx.commit();
  }
  const auto current = Claim("worker-2");
  ASSERT_TRUE(current);
  EXPECT_EQ(current->request.attempt, 2);
  const std::int64_t before = AuditId();

  for (const auto outcome : {actions::Outcome::kSucceeded, actions::Outcome::kFailed}) {
    EXPECT_TRUE(Complete("worker-1", *stale, outcome).stale);
    // The right worker with another attempt's number is fenced out too.
    EXPECT_TRUE(Complete("worker-2", *stale, outcome).stale);
  }
  EXPECT_EQ(AuditId(), before);
  EXPECT_EQ(Scalar<std::string>("SELECT state || ':' || attempts || ':' || lease_owner FROM actions WHERE id = $1",
                                current->request.action_id),
            "running:2:worker-2");
  EXPECT_TRUE(Scalar<bool>("SELECT outcome IS NULL FROM action_attempts WHERE action_id = $1 AND attempt = 1",
                           stale->request.action_id));
  EXPECT_EQ(Status("rel-1"), "rolling_back");
  EXPECT_EQ(Count("escalations", "rel-1"), 0);

  const auto out = Complete("worker-2", *current, actions::Outcome::kSucceeded);
  EXPECT_FALSE(out.stale);
  EXPECT_EQ(Status("rel-1"), "rolled_back");
}

// ---- ExpireDueEscalations -----------------------------------------------------

TEST_F(WorkflowTest, ExpiredEscalationStartsANewEpisodeThatMayAskAgain) {
  const std::string esc = Escalate("rel-1");
  EXPECT_TRUE(ExpireDue().empty()) << "expired before its ttl";
  EXPECT_EQ(EscalationState(esc), "pending");

  Backdate(esc);
  const auto expired = ExpireDue();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].id, esc);
  EXPECT_EQ(expired[0].state, domain::EscalationState::kExpired);
  EXPECT_EQ(EscalationState(esc), "expired");
  EXPECT_EQ(Status("rel-1"), "escalated");
  EXPECT_EQ(Episode("rel-1"), 2);
  EXPECT_EQ(AuditKinds("rel-1").back(), "escalation.expired");
  // Nothing re-evaluates by itself here: the evaluator asks again.
  EXPECT_EQ(Scalar<int>("SELECT count(*) FROM escalations WHERE release_id = $1 AND state = 'pending'",
                        std::string("rel-1")),
            0);
  EXPECT_TRUE(ExpireDue().empty());

  // Still degraded: the next evaluation decides again in episode 2.
  EXPECT_EQ(Evaluate("rel-1", kBreaching, HoldLease()).kind, decision::DecisionKind::kEscalate);
  EXPECT_EQ(Scalar<int>("SELECT max(episode) FROM decisions WHERE release_id = $1", std::string("rel-1")), 2);
  EXPECT_NE(PendingEscalation("rel-1"), esc);
  EXPECT_EQ(Status("rel-1"), "escalated");
}

TEST_F(WorkflowTest, UnansweredFailedRollbackIsAskedAgain) {
  AutoRollBack("rel-1");
  const auto claimed = Claim("worker-1");
  ASSERT_TRUE(claimed);
  Complete("worker-1", *claimed, actions::Outcome::kFailed);
  const std::string old = PendingEscalation("rel-1");
  Backdate(old);

  const auto expired = ExpireDue();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].id, old);
  EXPECT_EQ(EscalationState(old), "expired");
  EXPECT_EQ(Status("rel-1"), "rollback_failed");
  EXPECT_EQ(Episode("rel-1"), 2);

  const std::string fresh = PendingEscalation("rel-1");
  ASSERT_FALSE(fresh.empty());
  EXPECT_NE(fresh, old);
  EXPECT_EQ(Strings(Scalar<std::string>("SELECT reasons::text FROM escalations WHERE id = $1", fresh)),
            std::vector<std::string>{"rollback.failed"});
  EXPECT_EQ(Scalar<std::string>("SELECT to_version FROM escalations WHERE id = $1", fresh), "v1");
  // The same ttl as the question it repeats, counted from now.
  EXPECT_TRUE(Scalar<bool>("SELECT expires_at - created_at = interval '1 hour' AND expires_at > now() "
                           "FROM escalations WHERE id = $1",
                           fresh));
  const Kinds kinds = AuditKinds("rel-1");
  ASSERT_GE(kinds.size(), 2u);
  EXPECT_EQ(Kinds(kinds.end() - 2, kinds.end()), (Kinds{"escalation.expired", "escalation.opened"}));
  const auto opened = AuditPayload("rel-1", "escalation.opened");
  EXPECT_EQ(opened.at("escalation_id").as_string(), fresh);
  EXPECT_EQ(opened.at("replaces").as_string(), old);
}

TEST_F(WorkflowTest, ApproverWhoFindsAFailedRollbackQuestionExpiredLeavesItAskedAgain) {
  // The approval path expires a due escalation before the tick does. For a
  // rollback_failed release nothing else would ever ask again, so it must
  // repeat the question just as ExpireDueEscalations does.
  AutoRollBack("rel-1");
  const auto claimed = Claim("worker-1");
  ASSERT_TRUE(claimed);
  Complete("worker-1", *claimed, actions::Outcome::kFailed);
  const std::string old = PendingEscalation("rel-1");
  Backdate(old);

  const auto out = Decide(old, "sre-1");
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_TRUE(out->refused);
  EXPECT_EQ(out->refused->code, "expired");
  EXPECT_EQ(EscalationState(old), "expired");
  EXPECT_EQ(Status("rel-1"), "rollback_failed");

  const std::string fresh = PendingEscalation("rel-1");
  ASSERT_FALSE(fresh.empty());
  EXPECT_NE(fresh, old);
  EXPECT_EQ(AuditPayload("rel-1", "escalation.opened").at("replaces").as_string(), old);
  EXPECT_TRUE(ExpireDue().empty());
}

TEST_F(WorkflowTest, ApproverWhoFindsAnEscalationExpiredExpiresItWithoutAskingAgain) {
  const std::string esc = Escalate("rel-1");
  Backdate(esc);
  const auto out = Decide(esc, "sre-1");
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_TRUE(out->refused);
  EXPECT_EQ(out->refused->code, "expired");
  EXPECT_EQ(EscalationState(esc), "expired");
  EXPECT_EQ(Status("rel-1"), "escalated");
  EXPECT_EQ(Episode("rel-1"), 2);
  EXPECT_EQ(Count("actions", "rel-1"), 0);
  // The evaluator asks again for an escalated release; expiry does not.
  EXPECT_EQ(Scalar<int>("SELECT count(*) FROM escalations WHERE release_id = $1 AND state = 'pending'",
                        std::string("rel-1")),
            0);
  const auto payload = AuditPayload("rel-1", "escalation.expired");
  EXPECT_EQ(payload.at("escalation_id").as_string(), esc);
  EXPECT_EQ(Scalar<std::string>("SELECT actor FROM audit_log WHERE release_id = $1 AND kind = 'escalation.expired'",
                                std::string("rel-1")),
            "sre-1");
}


// ---- Notify and the notification outbox -----------------------------------------

config::NotifierConfig Notifier(const std::string& name, config::NotifierType type,
                                std::vector<domain::NotificationEvent> events, const std::string& match = "*") {
  config::NotifierConfig n;
  n.name = name;
  n.type = type;
  n.events = std::move(events);
  n.match = match;
  return n;
}

using NE = domain::NotificationEvent;
const std::vector<NE> kEveryEvent(domain::AllNotificationEvents().begin(), domain::AllNotificationEvents().end());

class NotifyTest : public WorkflowTest {
 protected:
  // "notifier:event" of the release's notifications, oldest first.
  std::vector<std::string> Told(const std::string& release_id) {
    std::vector<std::string> out;
    for (const auto& row :
         Query("SELECT notifier || ':' || event FROM notifications WHERE release_id = $1 ORDER BY seq", release_id)) {
      out.push_back(row[0].as<std::string>());
    }
    return out;
  }
  boost::json::object Payload(const std::string& release_id, const std::string& event) {
    return boost::json::parse(Scalar<std::string>(
                                  "SELECT payload::text FROM notifications WHERE release_id = $1 AND event = $2 "
                                  "ORDER BY seq LIMIT 1",
                                  release_id, event))
        .as_object();
  }
  std::optional<store::ClaimedNotification> ClaimNotification(const std::string& worker) {
    pqxx::work tx(*conn_);
    auto c = workflow::ClaimNextNotification(tx, worker, 30s);
    tx.commit();
    return c;
  }
  workflow::RecordedNotification Answer(const std::string& worker, const store::ClaimedNotification& c,
                                        actions::ExecutionResult result, int max_attempts = 5) {
    pqxx::work tx(*conn_);
    auto out = workflow::RecordNotificationOutcome(tx, worker, c, workflow::NotificationReport{result, max_attempts, 0.5});
    tx.commit();
    return out;
  }
};

TEST_F(NotifyTest, AnEscalationIsQueuedInItsTransactionForEachNotifierThatTakesIt) {
  notifiers_ = {Notifier("audit", config::NotifierType::kWebhook, kEveryEvent),
                Notifier("payments-chat", config::NotifierType::kSlack, kEveryEvent, "payments-*"),
                Notifier("chat", config::NotifierType::kSlack, {NE::kActionSucceeded})};
  const std::string esc = Escalate("rel-1");
  EXPECT_EQ(Told("rel-1"), (std::vector<std::string>{"audit:escalation.opened"}));
  const auto payload = Payload("rel-1", "escalation.opened");
  // The resources as their GET routes show them, as of the event.
  EXPECT_EQ(payload.at("release").at("status").as_string(), "escalated");
  EXPECT_EQ(payload.at("escalation").at("id").as_string(), esc);
  EXPECT_EQ(payload.at("escalation").at("state").as_string(), "pending");
  EXPECT_FALSE(payload.contains("action"));
  EXPECT_EQ(Scalar<std::string>("SELECT state || ':' || attempts || ':' || escalation_id FROM notifications "
                                "WHERE release_id = $1",
                                std::string("rel-1")),
            "pending:0:" + esc);
}

TEST_F(NotifyTest, WithoutNotifiersNothingIsQueued) {
  Escalate("rel-1");
  EXPECT_EQ(Scalar<int>("SELECT count(*) FROM notifications"), 0);
}

TEST_F(NotifyTest, PagerDutyTriggersThenResolvesTheSameEscalationOnApproval) {
  notifiers_ = {Notifier("oncall", config::NotifierType::kPagerDuty, {NE::kEscalationOpened})};
  const std::string esc = Escalate("rel-1");
  ASSERT_TRUE(Decide(esc, "sre-1"));
  EXPECT_EQ(Told("rel-1"), (std::vector<std::string>{"oncall:escalation.opened", "oncall:escalation.approved"}));
  EXPECT_EQ(Scalar<int>("SELECT count(DISTINCT escalation_id) FROM notifications WHERE escalation_id = $1", esc), 1);
  EXPECT_EQ(Payload("rel-1", "escalation.approved").at("escalation").at("state").as_string(), "approved");
}

TEST_F(NotifyTest, PagerDutyResolvesOnlyWhatItPaged) {
  // Subscribed to failed rollbacks only: an ordinary escalation is never
  // paged, so its end resolves nothing.
  notifiers_ = {Notifier("oncall", config::NotifierType::kPagerDuty, {NE::kRollbackFailed})};
  const std::string esc = Escalate("rel-1");
  ASSERT_TRUE(Decide(esc, "sre-1", approvals::Verdict::kReject, "keep it"));
  EXPECT_TRUE(Told("rel-1").empty());
}

TEST_F(NotifyTest, ARejectionIsTold) {
  notifiers_ = {Notifier("chat", config::NotifierType::kSlack, kEveryEvent)};
  ASSERT_TRUE(Decide(Escalate("rel-1"), "sre-1", approvals::Verdict::kReject, "keep it"));
  EXPECT_EQ(Told("rel-1"), (std::vector<std::string>{"chat:escalation.opened", "chat:escalation.rejected"}));
}

TEST_F(NotifyTest, AnExpiryIsToldAndResolvesThePage) {
  notifiers_ = {Notifier("chat", config::NotifierType::kSlack, kEveryEvent),
                Notifier("oncall", config::NotifierType::kPagerDuty, {NE::kEscalationOpened})};
  const std::string esc = Escalate("rel-1");
  Backdate(esc);
  ExpireDue();
  EXPECT_EQ(Told("rel-1"), (std::vector<std::string>{"chat:escalation.opened", "oncall:escalation.opened",
                                                     "chat:escalation.expired", "oncall:escalation.expired"}));
}

TEST_F(NotifyTest, ASupersededEscalationIsTold) {
  notifiers_ = {Notifier("chat", config::NotifierType::kSlack, {NE::kEscalationSuperseded})};
  Escalate("rel-1");
  Register("rel-2", "gated");
  EXPECT_EQ(Told("rel-1"), (std::vector<std::string>{"chat:escalation.superseded"}));
  EXPECT_EQ(Payload("rel-1", "escalation.superseded").at("release").at("status").as_string(), "superseded");
}

TEST_F(NotifyTest, AFailedRollbackIsToldAsActionFailedThenRollbackFailed) {
  notifiers_ = {Notifier("chat", config::NotifierType::kSlack, {NE::kActionFailed, NE::kEscalationOpened}),
                Notifier("oncall", config::NotifierType::kPagerDuty, {NE::kRollbackFailed})};
  AutoRollBack("rel-1");
  const auto claimed = Claim("worker-1");
  ASSERT_TRUE(claimed);
  Complete("worker-1", *claimed, actions::Outcome::kFailed);
  // chat does not take rollback.failed, so it hears of the question as escalation.opened.
  EXPECT_EQ(Told("rel-1"), (std::vector<std::string>{"chat:action.failed", "chat:escalation.opened",
                                                     "oncall:rollback.failed"}));
  const auto failed = Payload("rel-1", "action.failed");
  EXPECT_EQ(failed.at("action").at("state").as_string(), "failed");
  EXPECT_EQ(failed.at("action").at("last_error").as_string(), "receiver answered 502");
}

TEST_F(NotifyTest, TheSameEventIsQueuedOncePerNotifier) {
  notifiers_ = {Notifier("audit", config::NotifierType::kWebhook, kEveryEvent)};
  const std::string esc = Escalate("rel-1");
  pqxx::work tx(*conn_);
  workflow::Notify(tx, notifiers_, NE::kEscalationOpened, {"rel-1", esc, std::nullopt});
  tx.commit();
  EXPECT_EQ(Told("rel-1"), (std::vector<std::string>{"audit:escalation.opened"}));
}

TEST_F(NotifyTest, ANotifierIsToldAboutOneReleaseInOrder) {
  notifiers_ = {Notifier("oncall", config::NotifierType::kPagerDuty, {NE::kEscalationOpened})};
  ASSERT_TRUE(Decide(Escalate("rel-1"), "sre-1"));
  const auto trigger = ClaimNotification("worker-1");
  ASSERT_TRUE(trigger);
  EXPECT_EQ(trigger->event, NE::kEscalationOpened);
  // The resolve waits while its trigger is unfinished, even on another worker.
  EXPECT_FALSE(ClaimNotification("worker-2"));
  actions::ExecutionResult retry;
  retry.outcome = actions::Outcome::kRetry;
  retry.error = "HTTP 503";
  EXPECT_EQ(Answer("worker-1", *trigger, retry).state, domain::NotificationState::kPending);
  EXPECT_FALSE(ClaimNotification("worker-2")) << "a trigger waiting for its retry still holds the resolve back";
  // Due again (as if its backoff had passed): the trigger goes first, then the resolve.
  {
    pqxx::work tx(*conn_);
    tx.exec0("UPDATE notifications SET next_attempt_at = now()");
    tx.commit();
  }
  const auto again = ClaimNotification("worker-2");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->event, NE::kEscalationOpened);
  EXPECT_EQ(again->claim.attempt, 2);
  actions::ExecutionResult ok;
  ok.outcome = actions::Outcome::kSucceeded;
  ok.http_status = 202;
  EXPECT_EQ(Answer("worker-2", *again, ok).state, domain::NotificationState::kSucceeded);
  const auto resolve = ClaimNotification("worker-1");
  ASSERT_TRUE(resolve);
  EXPECT_EQ(resolve->event, NE::kEscalationApproved);
}

TEST_F(NotifyTest, ARateLimitedNotificationWaitsAtLeastWhatTheReceiverAsked) {
  notifiers_ = {Notifier("oncall", config::NotifierType::kPagerDuty, {NE::kEscalationOpened})};
  Escalate("rel-1");
  const auto c = ClaimNotification("worker-1");
  ASSERT_TRUE(c);
  actions::ExecutionResult limited;
  limited.outcome = actions::Outcome::kRetry;
  limited.http_status = 429;
  limited.error = "HTTP 429";
  limited.retry_after = Millis(30000);
  EXPECT_EQ(Answer("worker-1", *c, limited).state, domain::NotificationState::kPending);
  EXPECT_TRUE(Scalar<bool>("SELECT next_attempt_at >= now() + interval '29 seconds' FROM notifications WHERE id = $1",
                           c->claim.id));
  EXPECT_EQ(Scalar<int>("SELECT last_status FROM notifications WHERE id = $1", c->claim.id), 429);
}

TEST_F(NotifyTest, ARetryPastMaxAttemptsFailsAndAStaleWorkerChangesNothing) {
  notifiers_ = {Notifier("audit", config::NotifierType::kWebhook, kEveryEvent)};
  Escalate("rel-1");
  const auto c = ClaimNotification("worker-1");
  ASSERT_TRUE(c);
  actions::ExecutionResult retry;
  retry.outcome = actions::Outcome::kRetry;
  retry.error = "timeout";
  EXPECT_TRUE(Answer("worker-2", *c, retry).stale) << "not the lease holder";
  EXPECT_EQ(Answer("worker-1", *c, retry, /*max_attempts=*/1).state, domain::NotificationState::kFailed);
  EXPECT_EQ(Scalar<std::string>("SELECT state || ':' || last_error FROM notifications WHERE id = $1", c->claim.id),
            "failed:timeout (gave up after 1 attempts)");
  // A failed notification undoes nothing.
  EXPECT_EQ(Status("rel-1"), "escalated");
}

}  // namespace
}  // namespace backstop::testing
