#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/common/duration.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/decision/decide.hpp"
#include "backstop/domain/states.hpp"
#include "backstop/store/paging.hpp"

namespace backstop::store {

struct ApprovalRow {
  std::string by;
  TimePoint at{};
  std::optional<std::string> comment;
};

struct EscalationRow {
  std::int64_t seq = 0;
  std::string id;
  std::string release_id;
  std::optional<std::string> decision_id;
  std::string service;
  std::string environment;
  std::string release_class;
  decision::ProposedActionType proposed_type = decision::ProposedActionType::kRollback;
  std::string from_version;
  std::optional<std::string> to_version;
  std::vector<decision::ReasonCode> reasons;
  std::string evidence;  // JSON
  std::string summary;
  int required_approvals = 1;
  domain::EscalationState state = domain::EscalationState::kPending;
  TimePoint created_at{};
  TimePoint expires_at{};
  std::optional<TimePoint> decided_at;
  std::optional<std::string> decided_by;
  std::optional<std::string> comment;
  std::vector<ApprovalRow> approvals;
};

struct NewEscalation {
  std::string release_id;
  std::optional<std::string> decision_id;
  std::string service;
  std::string environment;
  std::string release_class;
  decision::ProposedActionType proposed_type = decision::ProposedActionType::kRollback;
  std::string from_version;
  std::optional<std::string> to_version;
  std::vector<decision::ReasonCode> reasons;
  std::string evidence;  // JSON
  std::string summary;
  int required_approvals = 1;
  Millis ttl{0};
  std::optional<std::string> replaces;  // the expired escalation this one asks again
};

struct EscalationQuery {
  std::optional<domain::EscalationState> state;
  std::optional<std::string> release_id;
  std::optional<std::string> service;
  std::optional<std::string> environment;
  std::optional<std::int64_t> before_seq;
  int limit = 100;
};

// Escalations and their approvals. State moves are conditional on `pending`
// (the only state an escalation leaves), so a second writer changes nothing.
// Callers hold the release row lock before touching an escalation row (the
// one lock order: release, escalation, audit).
class EscalationRepository {
 public:
  // Inserts a pending escalation, expiring `ttl` after the database's now().
  static EscalationRow Insert(pqxx::work& tx, const NewEscalation& e);
  static std::optional<EscalationRow> Find(pqxx::transaction_base& tx, const std::string& id,
                                           bool for_update = false);
  // Newest first; the approvals of the page are read in one query.
  static Page<EscalationRow> List(pqxx::transaction_base& tx, const EscalationQuery& q);
  static bool HasPending(pqxx::transaction_base& tx, const std::string& release_id);
  static std::int64_t CountPending(pqxx::transaction_base& tx);
  static std::set<std::string> PendingReleaseIds(pqxx::transaction_base& tx);
  // Whether the release ever had an escalation carrying `reason`.
  static bool EverAskedWith(pqxx::transaction_base& tx, const std::string& release_id, decision::ReasonCode reason);
  // expires_at <= the database's now().
  static bool IsPastExpiry(pqxx::transaction_base& tx, const std::string& id);

  // (id, release_id) of pending escalations past expiry, ordered by release.
  static std::vector<std::pair<std::string, std::string>> ListDue(pqxx::transaction_base& tx);
  // pending and due → expired; false if it was no longer pending or not yet due.
  static bool MarkExpired(pqxx::work& tx, const std::string& id);
  // pending → superseded for every pending escalation of the release; returns their ids.
  static std::vector<std::string> SupersedePending(pqxx::work& tx, const std::string& release_id);
  // pending → rejected; false if it was no longer pending.
  static bool MarkRejected(pqxx::work& tx, const std::string& id, const std::string& by,
                           const std::optional<std::string>& comment);
  // pending → approved by `approvers` (comma-joined in decided_by); false if no longer pending.
  static bool MarkApproved(pqxx::work& tx, const std::string& id, const std::vector<std::string>& approvers);
  static void AddApproval(pqxx::work& tx, const std::string& id, const std::string& approver,
                          const std::optional<std::string>& comment);
};

}  // namespace backstop::store
