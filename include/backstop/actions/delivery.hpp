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

// Splits "http://host:port/path" (port defaults to 80). nullopt for anything else.
struct HttpUrl {
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";
};
std::optional<HttpUrl> ParseHttpUrl(const std::string& url);

}  // namespace backstop::actions
