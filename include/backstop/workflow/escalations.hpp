#pragma once

#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/common/duration.hpp"
#include "backstop/config/config.hpp"
#include "backstop/decision/decide.hpp"
#include "backstop/policy/threshold_set.hpp"
#include "backstop/store/action_repository.hpp"
#include "backstop/store/escalation_repository.hpp"
#include "backstop/store/release_repository.hpp"

// Every escalation is built by one of the factories here and opened by
// OpenEscalation, which writes it, audits `escalation.opened` and notifies.
// Expiry and asking again live here too. Callers hold the release row lock (the lock
// order: release, escalation, audit).
namespace backstop::workflow {

// The approval ttl when the release's threshold set is no longer loaded
// (the threshold file default).
inline constexpr Millis kDefaultApprovalTtl = std::chrono::hours(2);

// A decision that escalates. Without a previous version there is nothing to
// roll back to: a human is asked to contain instead.
store::NewEscalation EscalationForDecision(const store::Release& release, const std::string& decision_id,
                                           const decision::Decision& d, const policy::ThresholdSet& set,
                                           const std::string& evidence);

// A rollback action that failed for good (`rollback.failed`); approving it
// queues a new rollback. `set` may be null when the class is gone.
store::NewEscalation EscalationForFailedRollback(const store::Release& release, const store::ClaimedAction& action,
                                                 const std::string& error, const policy::ThresholdSet* set);

// The restored version still breaches after a rollback
// (`rollback.ineffective`): nothing left to roll back to, so containment.
store::NewEscalation EscalationForIneffectiveRollback(const store::Release& release, const std::string& evidence,
                                                      const policy::ThresholdSet& set);

// The same question again, with a fresh expiry, after `expired` went unanswered.
store::NewEscalation EscalationAskedAgain(const store::EscalationRow& expired);

// Writes a pending escalation, audits `escalation.opened` and notifies it
// (as rollback.failed / rollback.ineffective where its reasons say so).
store::EscalationRow OpenEscalation(pqxx::work& tx, const config::Notifiers& notifiers,
                                    const store::NewEscalation& e);

// Expires one pending escalation past its expiry and starts a new episode
// for its release (so the next evaluation may ask again); audits
// `escalation.expired` as `actor` and notifies it. Like
// ExpireDueEscalations, asks again at once when the release's rollback
// failed (nothing re-evaluates it). The caller holds the release row lock.
// False if it was not pending or not due.
bool ExpireEscalation(pqxx::work& tx, const config::Notifiers& notifiers, const std::string& escalation_id,
                      const std::string& release_id, const std::string& actor);

// Expires every due escalation (locking each release first) and asks again
// for releases whose rollback failed: nothing re-evaluates those, so their
// unanswered question is repeated here. Returns the expired escalations.
std::vector<store::EscalationRow> ExpireDueEscalations(pqxx::work& tx, const config::Notifiers& notifiers);

}  // namespace backstop::workflow
