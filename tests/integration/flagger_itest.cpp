#include <algorithm>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "integration_support.hpp"

// Flagger's webhooks (INTEGRATIONS.md §2.2) end to end: each hook is posted
// the CanaryWebhookPayload fixture Flagger sends for it, with the deployer
// token in metadata.token, and answered by the table.

namespace backstop::testing {
namespace {

constexpr const char* kRelease = "flagger.test.podinfo.6d8c5f7b9c";
constexpr const char* kCanary = "6d8c5f7b9c";   // the checksum is the version
constexpr const char* kPrimary = "5f7d9b8c6";   // metadata.previous_version

class FlaggerTest : public ::testing::Test {
 protected:
  void SetUp() override { gs = std::make_unique<GateServer>(); }

  // The fixture of `hook` with this server's token (and `release_class` when given).
  std::string Payload(const std::string& hook, const std::string& release_class = "web",
                      const std::optional<std::string>& token = std::nullopt) {
    auto payload = FixtureObject("flagger/" + hook + ".json");
    auto& metadata = payload["metadata"].as_object();
    metadata["token"] = token.value_or(gs->deployer);
    metadata["release_class"] = release_class;
    return boost::json::serialize(payload);
  }

  // Flagger posts JSON and no other header.
  http::ClientResponse Hook(const std::string& hook, const std::string& body) {
    auto r = Send(gs->server(), "POST", "/v1/integrations/flagger/" + hook, body, {{"Content-Type", "application/json"}});
    gs->ExpectDocumented("POST", "/v1/integrations/flagger/{hook}", r);
    return r;
  }
  http::ClientResponse Hook(const std::string& hook) { return Hook(hook, Payload(hook)); }

  static std::vector<std::string> Details(const http::ClientResponse& r) {
    return Strings(ParseJson(r.body).at("error").at("details"));
  }

  std::unique_ptr<GateServer> gs;
};

TEST_F(FlaggerTest, AHealthyCanaryIsConfirmedAdvancedAndPromoted) {
  for (const char* hook : {"confirm-rollout", "pre-rollout", "rollout"}) {
    const auto r = Hook(hook, Payload(hook, "web-short"));
    EXPECT_EQ(r.status, 200) << hook << ": " << r.body;
  }
  const auto release = gs->Release(kRelease);
  EXPECT_EQ(release.at("service").as_string(), "podinfo");
  EXPECT_EQ(release.at("environment").as_string(), "test");
  EXPECT_EQ(release.at("version").as_string(), kCanary);
  EXPECT_EQ(release.at("previous_version").as_string(), kPrimary);
  EXPECT_EQ(release.at("traffic_percent").to_number<double>(), 10);  // metadata "10"
  EXPECT_EQ(release.at("deployed_by").as_string(), "ci-bot");

  // Promotion waits until Backstop has verified the release.
  const auto early = Hook("confirm-promotion", Payload("confirm-promotion", "web-short"));
  EXPECT_EQ(early.status, 403) << early.body;
  EXPECT_EQ(ErrorCode(early), "not_promotable");

  gs->Samples("podinfo", "test", kPrimary, 0.01, 10);
  gs->Samples("podinfo", "test", kCanary, 0.01, 10);
  ASSERT_EQ(gs->AwaitStatusOtherThan(kRelease, "evaluating"), "healthy");
  const auto promoted = Hook("confirm-promotion", Payload("confirm-promotion", "web-short"));
  EXPECT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(ParseJson(promoted.body).at("gate").as_string(), "proceed");
  EXPECT_EQ(Hook("rollback", Payload("rollback", "web-short")).status, 403);

  const auto post = Hook("post-rollout", Payload("post-rollout", "web-short"));
  EXPECT_EQ(post.status, 202) << post.body;
  const auto event = Hook("event", Payload("event", "web-short"));
  EXPECT_EQ(event.status, 202) << event.body;
  int events = 0;
  for (const auto& e : gs->Audit(kRelease)) {
    // The token is never logged or audited.
    EXPECT_EQ(boost::json::serialize(e).find(gs->deployer), std::string::npos);
    if (e.at("kind") != "integration.event") continue;
    ++events;
    EXPECT_EQ(e.at("actor").as_string(), "ci-bot");
    EXPECT_EQ(e.at("payload").at("canary").as_string(), "test/podinfo");
  }
  EXPECT_EQ(events, 2);
  EXPECT_EQ(boost::json::serialize(gs->Release(kRelease)).find(gs->deployer), std::string::npos);
}

TEST_F(FlaggerTest, ABreachingCanaryIsRolledBackThroughTheRollbackHook) {
  ASSERT_EQ(Hook("pre-rollout").status, 200);
  const auto undecided = Hook("rollback");
  EXPECT_EQ(undecided.status, 403) << undecided.body;
  EXPECT_EQ(ErrorCode(undecided), "no_rollback_decided");

  gs->Samples("podinfo", "test", kPrimary, 0.01, 10);
  gs->Samples("podinfo", "test", kCanary, 0.20, 10);
  ASSERT_EQ(gs->AwaitStatusOtherThan(kRelease, "evaluating"), "rolling_back");

  const auto rollout = Hook("rollout");
  EXPECT_EQ(rollout.status, 403) << rollout.body;
  EXPECT_EQ(ErrorCode(rollout), "rollback_decided");
  EXPECT_EQ(Details(rollout), std::vector<std::string>{"signal.breach"});
  EXPECT_EQ(gs->Actions(kRelease)[0].at("state").as_string(), "pending");  // only the rollback hook hands it out

  const auto rollback = Hook("rollback");
  ASSERT_EQ(rollback.status, 200) << rollback.body;
  const auto answer = ParseJson(rollback.body);
  EXPECT_EQ(answer.at("gate").as_string(), "rollback");
  EXPECT_EQ(Strings(answer.at("reasons")), std::vector<std::string>{"signal.breach"});
  EXPECT_EQ(answer.at("status").as_string(), "rolled_back");
  const auto actions = gs->Actions(kRelease);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].at("state").as_string(), "succeeded");
  EXPECT_EQ(actions[0].at("to_version").as_string(), kPrimary);
  bool picked_up = false;
  for (const auto& e : gs->Audit(kRelease)) {
    if (e.at("kind") == "action.succeeded") picked_up = e.at("payload").at("picked_up_by") == "flagger";
  }
  EXPECT_TRUE(picked_up);
  EXPECT_EQ(Hook("rollback").status, 200);  // asked again: still decided, nothing handed out twice
  EXPECT_EQ(gs->Actions(kRelease).size(), 1u);
}

TEST_F(FlaggerTest, AnEnvironmentalConflictHoldsUntilAnApprovalTurnsItIntoARollback) {
  ASSERT_EQ(Hook("pre-rollout").status, 200);
  gs->Samples("podinfo", "test", kPrimary, 0.20, 10);
  gs->Samples("podinfo", "test", kCanary, 0.21, 10);
  ASSERT_EQ(gs->AwaitStatusOtherThan(kRelease, "evaluating"), "escalated");

  EXPECT_EQ(Hook("rollout").status, 200);  // a "no" here would count toward Flagger's own rollback
  const auto promotion = Hook("confirm-promotion");
  EXPECT_EQ(promotion.status, 403) << promotion.body;
  const auto details = Details(promotion);
  EXPECT_NE(std::find(details.begin(), details.end(), "conflict.baseline_degraded"), details.end());
  const auto rollback = Hook("rollback");
  EXPECT_EQ(rollback.status, 403);
  EXPECT_EQ(Details(rollback), details);

  const auto escalations = gs->Escalations(kRelease);
  ASSERT_EQ(escalations.size(), 1u);
  ASSERT_EQ(gs->Approve(std::string(escalations[0].at("id").as_string())).status, 200);
  const auto approved = Hook("rollback");
  EXPECT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(ParseJson(approved.body).at("status").as_string(), "rolled_back");
  EXPECT_EQ(gs->Actions(kRelease)[0].at("decided_by").as_string(), "approval");
}

TEST_F(FlaggerTest, FreezeStopsNewRollouts) {
  gs->SetMode("freeze");
  const auto frozen = Hook("confirm-rollout");
  EXPECT_EQ(frozen.status, 403) << frozen.body;
  EXPECT_EQ(Details(frozen), std::vector<std::string>{"mode.freeze"});
  gs->SetMode("normal");
  EXPECT_EQ(Hook("confirm-rollout").status, 200);
}

TEST_F(FlaggerTest, TheTokenComesFromMetadataOrTheHeaderAndIsChecked) {
  auto no_token = FixtureObject("flagger/pre-rollout.json");
  no_token["metadata"].as_object().erase("token");
  const std::string anonymous = boost::json::serialize(no_token);
  EXPECT_EQ(Hook("pre-rollout", anonymous).status, 401);
  EXPECT_EQ(Hook("pre-rollout", Payload("pre-rollout", "web", "not-a-token")).status, 401);
  EXPECT_EQ(Hook("pre-rollout", Payload("pre-rollout", "web", gs->viewer)).status, 403);
  // An Authorization header works as well.
  const auto header = Send(gs->server(), "POST", "/v1/integrations/flagger/pre-rollout", anonymous,
                           {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + gs->admin}});
  EXPECT_EQ(header.status, 200) << header.body;
  EXPECT_EQ(gs->Release(kRelease).at("deployed_by").as_string(), "admin-1");
}

TEST_F(FlaggerTest, InvalidCallsAreRefusedNamingTheField) {
  const auto unknown = Hook("confirm-traffic-increase", Payload("rollout"));
  EXPECT_EQ(unknown.status, 404);
  const auto bad_json = Hook("rollout", "{\"name\":");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(ErrorCode(bad_json), "invalid_json");
  auto no_checksum = ParseJson(Payload("rollout")).as_object();
  no_checksum.erase("checksum");
  const auto missing = Hook("rollout", boost::json::serialize(no_checksum));
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(Details(missing), std::vector<std::string>{"checksum"});
  auto wrong = ParseJson(Payload("rollout")).as_object();
  wrong["metadata"].as_object()["traffic_percent"] = "250";
  const auto range = Hook("rollout", boost::json::serialize(wrong));
  EXPECT_EQ(range.status, 400);
  EXPECT_EQ(Details(range), std::vector<std::string>{"metadata.traffic_percent"});
  const auto unknown_class = Hook("rollout", Payload("rollout", "no-such-class"));
  EXPECT_EQ(unknown_class.status, 400);
  EXPECT_EQ(Details(unknown_class), std::vector<std::string>{"metadata.release_class"});
  EXPECT_EQ(gs->server().Request("GET", "/v1/releases/" + std::string(kRelease), gs->admin).status, 404);
}

}  // namespace
}  // namespace backstop::testing
