#include "backstop/notify/messages.hpp"

#include <algorithm>
#include <charconv>

#include <boost/json.hpp>

#include "backstop/actions/delivery.hpp"
#include "backstop/decision/reason_code.hpp"

namespace backstop::notify {

namespace {

namespace json = boost::json;
using domain::NotificationEvent;

constexpr std::size_t kMaxErrorBody = 300;        // receiver text kept in last_error
constexpr std::size_t kPagerDutySummaryMax = 1024;  // Events API v2 limit
constexpr std::size_t kSlackHeaderMax = 150;       // Block Kit plain_text header limit
constexpr std::size_t kSlackFieldMax = 2000;       // Block Kit field text limit

const json::object kEmpty;

const json::object& Obj(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->as_object() : kEmpty;
}

bool Has(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object();
}

std::string Str(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return "";
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  return "";
}

std::int64_t Int(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

std::vector<std::string> Strings(const json::object& o, const char* key) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& item : v->as_array()) {
    if (item.is_string()) out.emplace_back(item.as_string());
  }
  return out;
}

std::string Join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Cut on a UTF-8 character boundary, with an ellipsis when cut.
std::string Clip(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t end = max - 3;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end) + "...";
}

// Slack mrkdwn treats &, < and > as control characters.
std::string Mrkdwn(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

std::string_view Title(NotificationEvent e) {
  switch (e) {
    case NotificationEvent::kEscalationOpened: return "Approval needed";
    case NotificationEvent::kEscalationApproved: return "Approved";
    case NotificationEvent::kEscalationRejected: return "Rejected, release kept";
    case NotificationEvent::kEscalationExpired: return "Expired unanswered";
    case NotificationEvent::kEscalationSuperseded: return "Superseded by a newer release";
    case NotificationEvent::kActionSucceeded: return "Rolled back";
    case NotificationEvent::kActionFailed: return "Rollback failed";
    case NotificationEvent::kRollbackFailed: return "Rollback failed, approval needed";
    case NotificationEvent::kRollbackIneffective: return "Rollback ineffective, approval needed";
  }
  return "Backstop";
}

bool IsCritical(const Notice& n) {
  if (n.event == NotificationEvent::kRollbackFailed || n.event == NotificationEvent::kRollbackIneffective) return true;
  for (const auto& text : Strings(Obj(n.payload, "escalation"), "reasons")) {
    const auto code = decision::ParseReasonCode(text);
    if (code == decision::ReasonCode::kBudgetExhausted || code == decision::ReasonCode::kRollbackFailed ||
        code == decision::ReasonCode::kRollbackIneffective) {
      return true;
    }
  }
  return false;
}

// The versions a notice is about: "v2 → v1" (to "?" when unknown).
std::string Versions(const Notice& n) {
  const json::object& esc = Obj(n.payload, "escalation");
  const json::object& action = Obj(n.payload, "action");
  std::string from, to;
  if (Has(n.payload, "action")) {
    from = Str(action, "from_version");
    to = Str(action, "to_version");
  } else {
    const json::object& proposed = Obj(esc, "proposed_action");
    from = Str(proposed, "from_version");
    to = Str(proposed, "to_version");
  }
  if (from.empty()) from = Str(Obj(n.payload, "release"), "version");
  return from + " \xe2\x86\x92 " + (to.empty() ? "?" : to);
}

std::string ReleaseLine(const json::object& release) {
  return Str(release, "service") + " " + Str(release, "version") + " in " + Str(release, "environment");
}

json::object MrkdwnField(const std::string& label, const std::string& value) {
  return {{"type", "mrkdwn"}, {"text", Clip("*" + label + "*\n" + value, kSlackFieldMax)}};
}

actions::ExecutionResult Answered(actions::Outcome outcome, int status, const std::string& body) {
  actions::ExecutionResult r;
  r.outcome = outcome;
  r.http_status = status;
  r.output = actions::SanitizeOutput(body, kMaxErrorBody);
  if (outcome != actions::Outcome::kSucceeded) {
    r.error = "HTTP " + std::to_string(status);
    if (!r.output.empty()) r.error += ": " + r.output;
  }
  return r;
}

}  // namespace

std::string EscalationLink(const std::string& ui_url, const std::string& escalation_id) {
  if (ui_url.empty() || escalation_id.empty()) return "";
  return ui_url + "/ui/#/escalations/" + escalation_id;
}

std::string PagerDutyDedupKey(const std::string& escalation_id) { return "backstop:escalation:" + escalation_id; }

std::string OneLine(const Notice& n) {
  const json::object& release = Obj(n.payload, "release");
  std::string line(Title(n.event));
  line += ": ";
  if (Has(n.payload, "action") && !Has(n.payload, "escalation")) {
    const json::object& action = Obj(n.payload, "action");
    line += Str(release, "service") + " in " + Str(release, "environment") + ", " + Versions(n);
    const std::string error = Str(action, "last_error");
    if (n.event == NotificationEvent::kActionFailed && !error.empty()) line += " (" + error + ")";
    return line;
  }
  const std::string summary = Str(Obj(n.payload, "escalation"), "summary");
  line += summary.empty() ? ReleaseLine(release) : summary;
  return line;
}

std::string WebhookBody(const Notice& n) {
  json::object body;
  body["id"] = n.id;
  body["event"] = domain::ToString(n.event);
  body["at"] = FormatRfc3339(n.at);
  body["release"] = Obj(n.payload, "release");
  if (Has(n.payload, "escalation")) body["escalation"] = Obj(n.payload, "escalation");
  if (Has(n.payload, "action")) body["action"] = Obj(n.payload, "action");
  return json::serialize(body);
}

std::string PagerDutyBody(const Notice& n, const std::string& routing_key, const std::string& ui_url) {
  const json::object& esc = Obj(n.payload, "escalation");
  const std::string escalation_id = Str(esc, "id");
  json::object body;
  body["routing_key"] = routing_key;
  body["dedup_key"] = PagerDutyDedupKey(escalation_id);
  if (domain::EndsEscalation(n.event)) {
    body["event_action"] = "resolve";
    return json::serialize(body);
  }
  const json::object& release = Obj(n.payload, "release");
  const std::vector<std::string> reasons = Strings(esc, "reasons");
  json::array reason_list;
  for (const auto& r : reasons) reason_list.emplace_back(r);
  const auto* approvals = esc.if_contains("approvals");
  json::object details{
      {"event", domain::ToString(n.event)},
      {"escalation_id", escalation_id},
      {"release_id", Str(release, "id")},
      {"reasons", reason_list},
      {"proposed_action", Obj(esc, "proposed_action")},
      {"versions", Versions(n)},
      {"required_approvals", Int(esc, "required_approvals")},
      {"received_approvals", approvals != nullptr && approvals->is_array() ? approvals->as_array().size() : 0},
      {"expires_at", Str(esc, "expires_at")},
  };
  json::object payload{
      {"summary", Clip(OneLine(n), kPagerDutySummaryMax)},
      {"source", Str(release, "service") + "." + Str(release, "environment")},
      {"severity", IsCritical(n) ? "critical" : "error"},
      {"timestamp", FormatRfc3339(n.at)},
      {"component", Str(release, "service")},
      {"group", Str(release, "environment")},
      {"class", reasons.empty() ? std::string(domain::ToString(n.event)) : reasons.front()},
      {"custom_details", std::move(details)},
  };
  body["event_action"] = "trigger";
  body["payload"] = std::move(payload);
  body["client"] = "Backstop";
  if (const std::string link = EscalationLink(ui_url, escalation_id); !link.empty()) {
    body["client_url"] = link;
    body["links"] = json::array{json::object{{"href", link}, {"text", "Escalation " + escalation_id + " in Backstop"}}};
  }
  return json::serialize(body);
}

std::string SlackBody(const Notice& n, const std::string& ui_url) {
  const json::object& release = Obj(n.payload, "release");
  const json::object& esc = Obj(n.payload, "escalation");
  const json::object& action = Obj(n.payload, "action");
  const bool about_escalation = Has(n.payload, "escalation");

  json::array fields;
  fields.push_back(MrkdwnField("Service", Mrkdwn(Str(release, "service") + " / " + Str(release, "environment"))));
  fields.push_back(MrkdwnField("Versions", Mrkdwn(Versions(n))));
  fields.push_back(MrkdwnField("Class", Mrkdwn(Str(release, "release_class"))));
  std::vector<std::string> reasons = Strings(about_escalation ? esc : action, "reasons");
  for (auto& r : reasons) r = "`" + Mrkdwn(r) + "`";
  if (!reasons.empty()) fields.push_back(MrkdwnField("Reasons", Join(reasons, ", ")));
  if (about_escalation) {
    const auto* approvals = esc.if_contains("approvals");
    const std::size_t have = approvals != nullptr && approvals->is_array() ? approvals->as_array().size() : 0;
    fields.push_back(MrkdwnField(
        "Approvals", std::to_string(have) + " of " + std::to_string(Int(esc, "required_approvals")) + " needed"));
    if (n.event == NotificationEvent::kEscalationOpened || n.event == NotificationEvent::kRollbackFailed ||
        n.event == NotificationEvent::kRollbackIneffective) {
      fields.push_back(MrkdwnField("Expires", Mrkdwn(Str(esc, "expires_at"))));
    } else {
      std::string state = Str(esc, "state");
      if (const std::string by = Str(esc, "decided_by"); !by.empty()) state += " by " + by;
      fields.push_back(MrkdwnField("State", Mrkdwn(state)));
    }
  } else {
    fields.push_back(MrkdwnField("Decided by", Mrkdwn(Str(action, "decided_by"))));
    fields.push_back(MrkdwnField("Attempts", std::to_string(Int(action, "attempts"))));
    if (const std::string error = Str(action, "last_error"); !error.empty()) {
      fields.push_back(MrkdwnField("Last error", Mrkdwn(error)));
    }
  }

  const std::string line = OneLine(n);
  json::array blocks;
  blocks.push_back(json::object{
      {"type", "header"},
      {"text", json::object{{"type", "plain_text"},
                            {"text", Clip(std::string(Title(n.event)) + ": " + ReleaseLine(release), kSlackHeaderMax)}}}});
  blocks.push_back(json::object{{"type", "section"},
                                {"text", json::object{{"type", "mrkdwn"}, {"text", Clip(Mrkdwn(line), 3000)}}},
                                {"fields", std::move(fields)}});
  std::string context = about_escalation ? "Escalation " + Str(esc, "id") : "Action " + Str(action, "id");
  context += " \xc2\xb7 release " + Str(release, "id") + " \xc2\xb7 " + std::string(domain::ToString(n.event));
  blocks.push_back(json::object{
      {"type", "context"},
      {"elements", json::array{json::object{{"type", "mrkdwn"}, {"text", Mrkdwn(context)}}}}});
  const std::string escalation_id = about_escalation ? Str(esc, "id") : Str(action, "escalation_id");
  if (const std::string link = EscalationLink(ui_url, escalation_id); !link.empty()) {
    blocks.push_back(json::object{
        {"type", "actions"},
        {"elements", json::array{json::object{
                         {"type", "button"},
                         {"text", json::object{{"type", "plain_text"}, {"text", "Open escalation"}}},
                         {"url", link}}}}});
  }
  return json::serialize(json::object{{"text", line}, {"blocks", std::move(blocks)}});
}

std::optional<Millis> ParseRetryAfter(const std::string& header) {
  std::string_view v(header);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  std::int64_t seconds = 0;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || seconds < 0) return std::nullopt;
  return Millis(std::min<std::int64_t>(seconds, 24 * 3600) * 1000);
}

actions::ExecutionResult ClassifyPagerDuty(int status, const std::string& body, const std::string& retry_after) {
  if (status >= 200 && status < 300) return Answered(actions::Outcome::kSucceeded, status, body);
  if (status == 429) {
    auto r = Answered(actions::Outcome::kRetry, status, body);
    r.retry_after = std::max(kRateLimitBackoff, ParseRetryAfter(retry_after).value_or(Millis(0)));
    return r;
  }
  if (status == 408 || status >= 500) return Answered(actions::Outcome::kRetry, status, body);
  return Answered(actions::Outcome::kFailed, status, body);  // 400: the event is invalid; retrying cannot help
}

actions::ExecutionResult ClassifySlack(int status, const std::string& body, const std::string& retry_after) {
  if (status == 200 && body == "ok") return Answered(actions::Outcome::kSucceeded, status, body);
  if (status == 429) {
    auto r = Answered(actions::Outcome::kRetry, status, body);
    r.retry_after = ParseRetryAfter(retry_after).value_or(kRateLimitBackoff);
    return r;
  }
  if (status == 408 || status >= 500) return Answered(actions::Outcome::kRetry, status, body);
  auto r = Answered(actions::Outcome::kFailed, status, body);
  if (status == 200) r.error = "HTTP 200 without \"ok\": " + r.output;
  return r;
}

actions::ExecutionResult ClassifyWebhook(int status, const std::string& body, const std::string& retry_after) {
  auto r = Answered(actions::ClassifyHttpStatus(status), status, body);
  if (status == 429) r.retry_after = ParseRetryAfter(retry_after);
  return r;
}

}  // namespace backstop::notify
