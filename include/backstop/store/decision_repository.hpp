#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/common/duration.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/store/paging.hpp"
#include "backstop/store/release_repository.hpp"

namespace backstop::store {

struct DecisionRow {
  std::string id;
  std::string release_id;
  int episode = 0;
  std::string decision;        // auto_rollback | escalate | would_rollback | would_escalate | healthy
  std::string reasons;         // JSON array of codes
  std::string evidence;        // JSON evaluation
  std::int64_t thresholds_version = 0;
  std::string mode;
  TimePoint at{};
};

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
  std::string proposed_type;   // rollback | contain
  std::string from_version;
  std::optional<std::string> to_version;
  std::string reasons;         // JSON array
  std::string evidence;        // JSON
  std::string summary;
  int required_approvals = 1;
  std::string state;           // pending | approved | rejected | expired | superseded
  TimePoint created_at{};
  TimePoint expires_at{};
  std::optional<TimePoint> decided_at;
  std::optional<std::string> decided_by;
  std::optional<std::string> comment;
  std::vector<ApprovalRow> approvals;
};

struct ActionRow {
  std::int64_t seq = 0;
  std::string id;
  std::string release_id;
  std::optional<std::string> decision_id;
  std::optional<std::string> escalation_id;
  std::string service;
  std::string environment;
  std::string release_class;
  std::string action_type;     // rollback | contain
  std::string from_version;
  std::optional<std::string> to_version;
  std::string decided_by;      // auto | approval
  std::string approvers;       // JSON array
  std::string reasons;         // JSON array
  std::string state;           // pending | running | succeeded | failed
  std::optional<std::string> executor;
  int attempts = 0;
  std::optional<std::string> last_error;
  TimePoint created_at{};
  TimePoint updated_at{};
};

struct NewEscalation {
  std::string release_id;
  std::optional<std::string> decision_id;
  std::string service;
  std::string environment;
  std::string release_class;
  std::string proposed_type;
  std::string from_version;
  std::optional<std::string> to_version;
  std::string reasons;
  std::string evidence;
  std::string summary;
  int required_approvals = 1;
  Millis ttl{0};
  std::optional<std::string> replaces;  // the expired escalation this one asks again
};

struct NewAction {
  std::string release_id;
  std::optional<std::string> decision_id;
  std::optional<std::string> escalation_id;
  std::string service;
  std::string environment;
  std::string release_class;
  std::string action_type;
  std::string from_version;
  std::optional<std::string> to_version;
  std::string decided_by;
  std::string approvers = "[]";
  std::string reasons;
  std::string executor;
};

// A rollback of `release` to its previous version; callers add what links
// it to its decision or escalation.
NewAction RollbackAction(const Release& release, std::string decided_by, std::string reasons,
                         std::string executor);

struct EscalationQuery {
  std::optional<std::string> state;
  std::optional<std::string> release_id;
  std::optional<std::string> service;
  std::optional<std::string> environment;
  std::optional<std::int64_t> before_seq;
  int limit = 100;
};

// Decision rows: one real decision per release episode (unique index), each
// dry-run decision once per episode.
class DecisionRepository {
 public:
  // Inserts and returns the id; nullopt when this episode already has it.
  static std::optional<std::string> Insert(pqxx::work& tx, const std::string& release_id, int episode,
                                           const std::string& decision, const std::string& reasons,
                                           const std::string& evidence, std::int64_t thresholds_version,
                                           const std::string& mode);
  // Newest first.
  static std::vector<DecisionRow> ListForRelease(pqxx::transaction_base& tx, const std::string& release_id);
  // The decisions of many releases in one query (list answers).
  static std::map<std::string, std::vector<DecisionRow>> ListForReleases(
      pqxx::transaction_base& tx, const std::vector<std::string>& release_ids);
};

class EscalationRepository {
 public:
  // Opens a pending escalation (expiry from the database clock) and audits
  // `escalation.opened`. The caller holds the release row lock.
  static EscalationRow Open(pqxx::work& tx, const NewEscalation& e);
  static std::optional<EscalationRow> Find(pqxx::transaction_base& tx, const std::string& id,
                                           bool for_update = false);
  static Page<EscalationRow> List(pqxx::transaction_base& tx, const EscalationQuery& q);
  static bool HasPending(pqxx::transaction_base& tx, const std::string& release_id);
  static std::int64_t CountPending(pqxx::transaction_base& tx);

  // Marks one pending escalation expired and opens a new episode for its
  // release (whose row the caller has locked); false if it was no longer
  // pending or not yet due. The caller audits.
  static bool MarkExpired(pqxx::work& tx, const std::string& id, const std::string& release_id);

  // Marks pending escalations past expires_at (database clock) expired, opens
  // a new episode for their releases and audits each. Returns them.
  static std::vector<EscalationRow> ExpireDue(pqxx::work& tx);

  // Supersedes the pending escalations of `release_id`; returns their ids
  // (the caller audits them, after every row lock it needs).
  static std::vector<std::string> SupersedePending(pqxx::work& tx, const std::string& release_id);
};

class ActionRepository {
 public:
  static ActionRow Queue(pqxx::work& tx, const NewAction& a);
  static std::optional<ActionRow> Find(pqxx::transaction_base& tx, const std::string& id);
  static Page<ActionRow> List(pqxx::transaction_base& tx, const std::optional<std::string>& release_id,
                              std::optional<std::int64_t> before_seq, int limit);
  // Auto-rollback actions of a class in an environment created within `per`
  // (database clock), whatever their outcome.
  static int CountAutoInWindow(pqxx::transaction_base& tx, const std::string& release_class,
                               const std::string& environment, Millis per);
  static std::int64_t CountPending(pqxx::transaction_base& tx);
};

}  // namespace backstop::store
