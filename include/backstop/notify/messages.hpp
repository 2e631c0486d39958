#pragma once

#include <optional>
#include <string>

#include <boost/json/object.hpp>

#include "backstop/actions/action_request.hpp"
#include "backstop/common/duration.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/domain/states.hpp"

// The messages notifiers send and how each receiver's answer ends an
// attempt (pure; INTEGRATIONS §4). Every message is rendered from a Notice,
// so each attempt of one notification sends the same content.
namespace backstop::notify {

// A queued notification: what happened, when, and the resources as they
// were then. `payload` is {"release", "escalation"?, "action"?}, each as its
// GET route renders it (the release without evaluation and decisions).
struct Notice {
  std::string id;  // the notification's id: stable across attempts and restarts
  domain::NotificationEvent event = domain::NotificationEvent::kEscalationOpened;
  TimePoint at{};
  boost::json::object payload;
};

// A rate-limited receiver that does not say when to come back is retried
// after this long at the earliest; PagerDuty's 429 is never retried sooner.
inline constexpr Millis kRateLimitBackoff = std::chrono::seconds(30);

// "{ui_url}/ui/#/escalations/{id}"; "" without a ui_url.
std::string EscalationLink(const std::string& ui_url, const std::string& escalation_id);

// "backstop:escalation:<id>": one PagerDuty incident per escalation.
std::string PagerDutyDedupKey(const std::string& escalation_id);

// One line for a person: "Approval needed: checkout v2 in prod: http_5xx_ratio 0.5 vs baseline 0.01".
std::string OneLine(const Notice& notice);

// The webhook notifier's body: {"id", "event", "at", "release",
// "escalation"?, "action"?}; signed like the rollback webhook.
std::string WebhookBody(const Notice& notice);

// PagerDuty Events API v2: an opening event triggers the escalation's
// incident (dedup_key backstop:escalation:<id>, severity `critical` for
// rollback.failed, rollback.ineffective and budget.exhausted, else `error`);
// an ending resolves it with the same dedup_key.
std::string PagerDutyBody(const Notice& notice, const std::string& routing_key, const std::string& ui_url);

// A Slack incoming-webhook message: a one-line `text` and blocks (header;
// section with the fields; context with the ids; a URL button to the
// escalation when ui_url is set). Approving stays on the REST API.
std::string SlackBody(const Notice& notice, const std::string& ui_url);

// Retry-After in delta-seconds; nullopt when absent or not a number.
std::optional<Millis> ParseRetryAfter(const std::string& header);

// PagerDuty: 2xx (202) done; 400 failed, no retry; 429 retried, never
// sooner than kRateLimitBackoff; 408 and 5xx retried; other 4xx failed.
actions::ExecutionResult ClassifyPagerDuty(int status, const std::string& body, const std::string& retry_after);
// Slack: 200 with the body `ok` done; 429 retried after Retry-After (else
// kRateLimitBackoff); 408 and 5xx retried; anything else failed, with
// Slack's plain-text reason in the error.
actions::ExecutionResult ClassifySlack(int status, const std::string& body, const std::string& retry_after);
// Webhook: like the rollback webhook (2xx done; 408, 429, 5xx retried, a
// 429 honouring Retry-After; other statuses failed).
actions::ExecutionResult ClassifyWebhook(int status, const std::string& body, const std::string& retry_after);

}  // namespace backstop::notify
