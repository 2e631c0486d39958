#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backstop/actions/action_request.hpp"
#include "backstop/common/duration.hpp"

namespace backstop::actions {

// Pure pieces of rollback delivery.

// DESIGN webhook body: {"action_id", "release_id", "service", "environment",
// "from_version", "to_version", "decided_by", "approvers", "reasons"}.
std::string WebhookBody(const ActionRequest& a);

// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
std::string SignatureHeader(const std::string& secret, std::int64_t unix_seconds, const std::string& body);

// 2xx = done; 408, 429, 5xx = retry; other statuses = failed at once.
Outcome ClassifyHttpStatus(int status);

// Exponential backoff with full jitter: uniform in [0, min(30 s, 200 ms * 2^(attempt-1))].
// `random01` in [0, 1) comes from the caller (tests pass fixed values).
Millis BackoffDelay(int attempt, double random01);

// The delay before the next attempt of any outbox row (actions and
// notifications alike): BackoffDelay, but never sooner than `at_least`
// (what the receiver asked for, capped at one hour).
Millis RetryDelay(int attempt, double random01, std::optional<Millis> at_least);

// Expands {service}, {environment}, {from_version}, {to_version},
// {action_id} and {release_id} inside each argv element. Values are never
// split or interpreted: each element stays exactly one argument, whatever
// the values contain. An unknown placeholder is left as written.
std::vector<std::string> ExpandArgv(const std::vector<std::string>& argv_template, const ActionRequest& a);

// Output kept from a receiver or a command: valid UTF-8 (bad bytes become
// U+FFFD, NULs are dropped) and at most `max_bytes`, cut on a character
// boundary. PostgreSQL text refuses anything else, and an outcome that
// cannot be recorded would be retried forever.
std::string SanitizeOutput(const std::string& raw, std::size_t max_bytes);

// Splits "http://host:port/path" or "https://host:port/path" (the port
// defaults to 80 or 443; an IPv6 host is written in brackets, kept without
// them). nullopt for anything else: another scheme, no host, a bad port,
// user info, spaces or control characters.
struct HttpUrl {
  bool https = false;
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";
};
std::optional<HttpUrl> ParseHttpUrl(const std::string& url);

// localhost, 127.0.0.0/8 and ::1: where plain http:// stays on the machine.
bool IsLoopbackHost(const std::string& host);

}  // namespace backstop::actions
