#pragma once

#include <optional>
#include <string>
#include <vector>

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

enum class Outcome { kSucceeded, kRetry, kFailed };

struct ExecutionResult {
  Outcome outcome = Outcome::kFailed;
  std::optional<int> http_status;
  std::optional<int> exit_code;
  std::string output;                 // bounded
  std::string error;                  // empty on success
};

}  // namespace backstop::actions
