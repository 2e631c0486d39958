#pragma once

#include <optional>
#include <string>
#include <vector>

#include "backstop/common/error.hpp"
#include "backstop/domain/states.hpp"

namespace backstop::approvals {

// What an approval or rejection is checked against, read inside the
// transaction that holds the escalation row lock.
struct ApprovalFacts {
  domain::EscalationState escalation_state = domain::EscalationState::kPending;
  bool expired_now = false;                  // expires_at <= the database's now()
  std::string actor;                         // the approver's identity (token name)
  std::string deployed_by;
  std::optional<std::string> triggered_by;
  std::vector<std::string> approvers;        // who already approved
  // The intent the escalation proposed and what holds now.
  bool release_is_current = true;            // still the newest release of its service/environment
  bool proposes_rollback = true;             // false: containment, which has no target version
  std::string proposed_from_version;
  std::optional<std::string> proposed_to_version;
  std::string release_version;
  std::optional<std::string> release_previous_version;
};

enum class Verdict { kApprove, kReject };

// The pure separation-of-duties and intent rules, in the order a client sees
// them: 409 with the state as the code when not pending; 409 `expired` past
// expires_at; 403 `separation_of_duties` for the deployer or the one named
// triggered_by; 409 `already_approved` for a second approval by one
// identity; 409 `intent_changed` when the release or the target moved.
// nullopt = allowed.
std::optional<Error> CheckDecision(const ApprovalFacts& facts, Verdict verdict);

}  // namespace backstop::approvals
