#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backstop/common/duration.hpp"

namespace backstop::actions {

// What an executor is asked to do: one attempt of one action.
struct ActionRequest {
  std::string action_id;              // also the Idempotency-Key
  std::string release_id;
  std::string service;
  std::string environment;
  std::string from_version;
  std::optional<std::string> to_version;
  std::string decided_by;             // auto | approval
  std::vector<std::string> approvers;
  std::vector<std::string> reasons;
  int attempt = 1;
};

// How one attempt ended (the wire strings are action_attempts.outcome and
// the `outcome` of action.* audit entries and metrics).
enum class Outcome {
  kSucceeded,  // succeeded: the receiver confirmed it
  kRetry,      // retry: failed for now (408, 429, 5xx, timeout); try again after a backoff
  kFailed,     // failed: will not succeed by retrying (other 4xx, bad config)
};
std::string_view ToString(Outcome o);

struct ExecutionResult {
  Outcome outcome = Outcome::kFailed;
  std::optional<int> http_status;
  std::optional<int> exit_code;
  std::string output;                 // bounded
  std::string error;                  // empty on success
  std::optional<Millis> retry_after;  // kRetry: not sooner than this (Retry-After, PagerDuty's 429 minimum)
};

}  // namespace backstop::actions
