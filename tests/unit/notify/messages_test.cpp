#include "backstop/notify/messages.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace backstop::notify {
namespace {

namespace json = boost::json;
using E = domain::NotificationEvent;

json::object Release() {
  return {{"id", "rel-1"},     {"service", "checkout"},      {"environment", "prod"},
          {"version", "v2"},   {"previous_version", "v1"},   {"release_class", "web"},
          {"status", "escalated"}};
}

json::object Escalation(json::array reasons = {"signal.breach", "policy.approval_required"}) {
  return {{"id", "esc-1"},
          {"release_id", "rel-1"},
          {"proposed_action", json::object{{"type", "rollback"}, {"from_version", "v2"}, {"to_version", "v1"}}},
          {"reasons", std::move(reasons)},
          {"summary", "checkout v2 in prod: http_5xx_ratio 0.5 vs baseline 0.01"},
          {"required_approvals", 1},
          {"approvals", json::array{}},
          {"state", "pending"},
          {"decided_by", nullptr},
          {"expires_at", "2026-11-22T12:00:00.000Z"}};
}

Notice EscalationNotice(E event, json::object escalation = Escalation()) {
  Notice n;
  n.id = "n-1";
  n.event = event;
  n.at = ParseRfc3339("2026-11-22T10:00:00.000Z").value();
  n.payload = {{"release", Release()}, {"escalation", std::move(escalation)}};
  return n;
}

Notice ActionNotice(E event) {
  Notice n;
  n.id = "n-2";
  n.event = event;
  n.at = ParseRfc3339("2026-11-22T10:00:00.000Z").value();
  n.payload = {{"release", Release()},
               {"action", json::object{{"id", "act-1"}, {"from_version", "v2"}, {"to_version", "v1"},
                                       {"decided_by", "auto"}, {"attempts", 5}, {"reasons", json::array{"signal.breach"}},
                                       {"last_error", "HTTP 503"}, {"escalation_id", nullptr}}}};
  return n;
}

json::object Parse(const std::string& text) { return json::parse(text).as_object(); }

TEST(MessagesTest, PagerDutyTriggersWithTheEscalationDedupKeyAndItsDetails) {
  const auto body = Parse(PagerDutyBody(EscalationNotice(E::kEscalationOpened), "R0UTING", "https://backstop.example"));
  EXPECT_EQ(body.at("routing_key"), "R0UTING");
  EXPECT_EQ(body.at("event_action"), "trigger");
  EXPECT_EQ(body.at("dedup_key"), "backstop:escalation:esc-1");
  const auto& payload = body.at("payload").as_object();
  EXPECT_EQ(payload.at("source"), "checkout.prod");
  EXPECT_EQ(payload.at("severity"), "error");
  EXPECT_EQ(payload.at("component"), "checkout");
  EXPECT_EQ(payload.at("group"), "prod");
  EXPECT_EQ(payload.at("class"), "signal.breach");
  EXPECT_EQ(payload.at("summary"), "Approval needed: checkout v2 in prod: http_5xx_ratio 0.5 vs baseline 0.01");
  const auto& details = payload.at("custom_details").as_object();
  EXPECT_EQ(details.at("reasons").as_array().size(), 2u);
  EXPECT_EQ(details.at("required_approvals"), 1);
  EXPECT_EQ(details.at("received_approvals"), 0);
  EXPECT_EQ(details.at("expires_at"), "2026-11-22T12:00:00.000Z");
  EXPECT_EQ(details.at("proposed_action").at("to_version"), "v1");
  EXPECT_EQ(body.at("links").at(0).at("href"), "https://backstop.example/ui/#/escalations/esc-1");
}

TEST(MessagesTest, PagerDutyIsCriticalForFailedOrIneffectiveRollbacksAndAnExhaustedBudget) {
  auto severity = [](const Notice& n) {
    return std::string(Parse(PagerDutyBody(n, "k", "")).at("payload").at("severity").as_string());
  };
  EXPECT_EQ(severity(EscalationNotice(E::kRollbackFailed, Escalation({"rollback.failed"}))), "critical");
  EXPECT_EQ(severity(EscalationNotice(E::kRollbackIneffective, Escalation({"rollback.ineffective"}))), "critical");
  EXPECT_EQ(severity(EscalationNotice(E::kEscalationOpened, Escalation({"signal.breach", "budget.exhausted"}))),
            "critical");
  EXPECT_EQ(severity(EscalationNotice(E::kEscalationOpened)), "error");
}

TEST(MessagesTest, PagerDutyResolvesWithTheSameDedupKeyAndNothingElse) {
  const auto body = Parse(PagerDutyBody(EscalationNotice(E::kEscalationApproved), "R0UTING", "https://x"));
  EXPECT_EQ(body, (json::object{{"routing_key", "R0UTING"},
                                {"dedup_key", "backstop:escalation:esc-1"},
                                {"event_action", "resolve"}}));
}

TEST(MessagesTest, PagerDutyHasNoLinksWithoutAUiUrl) {
  const auto body = Parse(PagerDutyBody(EscalationNotice(E::kEscalationOpened), "k", ""));
  EXPECT_FALSE(body.contains("links"));
}

TEST(MessagesTest, SlackHasTextHeaderFieldsContextAndAUrlButton) {
  const auto body = Parse(SlackBody(EscalationNotice(E::kEscalationOpened), "https://backstop.example"));
  EXPECT_EQ(body.at("text"), "Approval needed: checkout v2 in prod: http_5xx_ratio 0.5 vs baseline 0.01");
  const auto& blocks = body.at("blocks").as_array();
  ASSERT_EQ(blocks.size(), 4u);
  EXPECT_EQ(blocks[0].at("type"), "header");
  EXPECT_EQ(blocks[0].at("text").at("text"), "Approval needed: checkout v2 in prod");
  EXPECT_EQ(blocks[1].at("type"), "section");
  const std::string fields = json::serialize(blocks[1].at("fields"));
  for (const char* part : {"checkout / prod", "v2 \xe2\x86\x92 v1", "web", "`signal.breach`", "0 of 1 needed",
                           "2026-11-22T12:00:00.000Z"}) {
    EXPECT_NE(fields.find(part), std::string::npos) << part << " in " << fields;
  }
  EXPECT_EQ(blocks[2].at("type"), "context");
  EXPECT_NE(json::serialize(blocks[2]).find("esc-1"), std::string::npos);
  EXPECT_EQ(blocks[3].at("type"), "actions");
  EXPECT_EQ(blocks[3].at("elements").at(0).at("type"), "button");
  EXPECT_EQ(blocks[3].at("elements").at(0).at("url"), "https://backstop.example/ui/#/escalations/esc-1");
}

TEST(MessagesTest, SlackEscapesMrkdwnAndLeavesOutTheButtonWithoutAUiUrl) {
  auto esc = Escalation();
  esc["summary"] = "a <b> & c";
  const auto body = Parse(SlackBody(EscalationNotice(E::kEscalationOpened, esc), ""));
  EXPECT_EQ(body.at("blocks").as_array().size(), 3u);
  EXPECT_EQ(body.at("blocks").at(1).at("text").at("text"), "Approval needed: a &lt;b&gt; &amp; c");
  EXPECT_EQ(body.at("text"), "Approval needed: a <b> & c");
}

TEST(MessagesTest, SlackTellsAnActionWithItsOutcome) {
  const auto body = Parse(SlackBody(ActionNotice(E::kActionFailed), ""));
  EXPECT_EQ(body.at("text"), "Rollback failed: checkout in prod, v2 \xe2\x86\x92 v1 (HTTP 503)");
  const std::string fields = json::serialize(body.at("blocks").at(1).at("fields"));
  EXPECT_NE(fields.find("*Attempts*\\n5"), std::string::npos) << fields;
  EXPECT_NE(fields.find("HTTP 503"), std::string::npos);
}

TEST(MessagesTest, WebhookBodyCarriesIdEventAtAndTheResources) {
  const auto body = Parse(WebhookBody(EscalationNotice(E::kEscalationOpened)));
  EXPECT_EQ(body.at("id"), "n-1");
  EXPECT_EQ(body.at("event"), "escalation.opened");
  EXPECT_EQ(body.at("at"), "2026-11-22T10:00:00.000Z");
  EXPECT_EQ(body.at("release").at("id"), "rel-1");
  EXPECT_EQ(body.at("escalation").at("id"), "esc-1");
  EXPECT_FALSE(body.contains("action"));
  const auto action = Parse(WebhookBody(ActionNotice(E::kActionSucceeded)));
  EXPECT_EQ(action.at("action").at("id"), "act-1");
  EXPECT_FALSE(action.contains("escalation"));
}

TEST(MessagesTest, PagerDutyAnswers) {
  EXPECT_EQ(ClassifyPagerDuty(202, R"({"status":"success"})", "").outcome, actions::Outcome::kSucceeded);
  const auto invalid = ClassifyPagerDuty(400, R"({"status":"invalid event"})", "");
  EXPECT_EQ(invalid.outcome, actions::Outcome::kFailed);
  EXPECT_EQ(invalid.error, R"(HTTP 400: {"status":"invalid event"})");
  const auto limited = ClassifyPagerDuty(429, "", "");
  EXPECT_EQ(limited.outcome, actions::Outcome::kRetry);
  EXPECT_EQ(limited.retry_after, Millis(30000));
  EXPECT_EQ(ClassifyPagerDuty(429, "", "120").retry_after, Millis(120000));
  EXPECT_EQ(ClassifyPagerDuty(429, "", "2").retry_after, Millis(30000)) << "never sooner than 30 s";
  EXPECT_EQ(ClassifyPagerDuty(500, "", "").outcome, actions::Outcome::kRetry);
  EXPECT_EQ(ClassifyPagerDuty(503, "", "").outcome, actions::Outcome::kRetry);
  EXPECT_EQ(ClassifyPagerDuty(403, "", "").outcome, actions::Outcome::kFailed);
}

TEST(MessagesTest, SlackAnswers) {
  EXPECT_EQ(ClassifySlack(200, "ok", "").outcome, actions::Outcome::kSucceeded);
  const auto invalid = ClassifySlack(400, "invalid_payload", "");
  EXPECT_EQ(invalid.outcome, actions::Outcome::kFailed);
  EXPECT_EQ(invalid.error, "HTTP 400: invalid_payload");
  EXPECT_EQ(ClassifySlack(404, "channel_not_found", "").outcome, actions::Outcome::kFailed);
  const auto limited = ClassifySlack(429, "rate_limited", "7");
  EXPECT_EQ(limited.outcome, actions::Outcome::kRetry);
  EXPECT_EQ(limited.retry_after, Millis(7000));
  EXPECT_EQ(ClassifySlack(429, "", "").retry_after, Millis(30000));
  EXPECT_EQ(ClassifySlack(500, "", "").outcome, actions::Outcome::kRetry);
  EXPECT_EQ(ClassifySlack(200, "not ok", "").outcome, actions::Outcome::kFailed);
}

TEST(MessagesTest, WebhookAnswersLikeTheRollbackWebhook) {
  EXPECT_EQ(ClassifyWebhook(204, "", "").outcome, actions::Outcome::kSucceeded);
  EXPECT_EQ(ClassifyWebhook(404, "", "").outcome, actions::Outcome::kFailed);
  EXPECT_EQ(ClassifyWebhook(429, "", "3").retry_after, Millis(3000));
  EXPECT_EQ(ClassifyWebhook(502, "", "").outcome, actions::Outcome::kRetry);
}

TEST(MessagesTest, RetryAfterIsDeltaSeconds) {
  EXPECT_EQ(ParseRetryAfter("30"), Millis(30000));
  EXPECT_EQ(ParseRetryAfter(" 5 "), Millis(5000));
  EXPECT_EQ(ParseRetryAfter(""), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2026 07:28:00 GMT"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-1"), std::nullopt);
}

}  // namespace
}  // namespace backstop::notify
