#pragma once

#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "backstop/approvals/approval_rules.hpp"
#include "backstop/common/result.hpp"
#include "backstop/config/config.hpp"
#include "backstop/store/escalation_repository.hpp"

namespace backstop::workflow {

struct ApprovalRequest {
  std::string escalation_id;
  std::string actor;  // the approver's identity (token name)
  approvals::Verdict verdict = approvals::Verdict::kApprove;
  std::optional<std::string> comment;
};

struct ApprovalOutcome {
  store::EscalationRow escalation;
  bool final = false;            // approved (enough approvals) or rejected
  std::optional<Error> refused;  // the answer the client sees when refused
};

// The human decision on an escalation, bound to its intent. Gathers the
// facts under the release and escalation row locks, applies the pure rules
// of approvals::CheckDecision, then writes: a rejection keeps the release
// (`rollback_rejected`); an approval is recorded and, once enough are in,
// queues the rollback of exactly the versions the escalation proposed
// (containment has no executor: the approval is the record). An escalation
// found past its expiry is expired on the spot and refused. NotFound when
// there is no such escalation. The caller commits `tx`, refused or not.
// `config` chooses the executor of the rollback by the release's service.
Result<ApprovalOutcome> DecideEscalation(pqxx::work& tx, const config::Config& config,
                                         const ApprovalRequest& request);

}  // namespace backstop::workflow
