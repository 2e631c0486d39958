#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/actions/action_request.hpp"
#include "backstop/common/duration.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/decision/decide.hpp"
#include "backstop/domain/states.hpp"
#include "backstop/store/outbox.hpp"
#include "backstop/store/paging.hpp"

namespace backstop::store {

struct ActionRow {
  std::int64_t seq = 0;
  std::string id;
  std::string release_id;
  std::optional<std::string> decision_id;
  std::optional<std::string> escalation_id;
  std::string service;
  std::string environment;
  std::string release_class;
  decision::ProposedActionType action_type = decision::ProposedActionType::kRollback;
  std::string from_version;
  std::optional<std::string> to_version;
  domain::DecidedBy decided_by = domain::DecidedBy::kAuto;
  std::vector<std::string> approvers;
  std::vector<decision::ReasonCode> reasons;
  domain::ActionState state = domain::ActionState::kPending;
  std::optional<std::string> executor;
  int attempts = 0;
  std::optional<std::string> last_error;
  TimePoint created_at{};
  TimePoint updated_at{};
};

struct NewAction {
  std::string release_id;
  std::optional<std::string> decision_id;
  std::optional<std::string> escalation_id;
  std::string service;
  std::string environment;
  std::string release_class;
  decision::ProposedActionType action_type = decision::ProposedActionType::kRollback;
  std::string from_version;
  std::optional<std::string> to_version;
  domain::DecidedBy decided_by = domain::DecidedBy::kAuto;
  std::vector<std::string> approvers;
  std::vector<decision::ReasonCode> reasons;
  std::string executor;
};

// One attempt of an action, as claimed by a worker.
struct ClaimedAction {
  OutboxClaim claim;               // the row and the attempt that fences its writes
  actions::ActionRequest request;  // what the executor is sent
  std::string release_class;
  decision::ProposedActionType action_type = decision::ProposedActionType::kRollback;
};

// How a fenced attempt ends: the outbox completion (final outcome, error,
// backoff, executor) and what the attempt row records.
struct AttemptCompletion {
  OutboxCompletion fenced;
  actions::Outcome outcome = actions::Outcome::kFailed;  // what the attempt itself returned
  std::optional<int> http_status;
  std::optional<int> exit_code;
  std::string output;
};

// A gate action waiting to be handed out, as the timeout sweep sees it.
struct PendingGateAction {
  std::string action_id;
  std::string release_id;
  std::string service;
  Millis age{0};  // since it was queued, on the database's clock
};

// Rollback actions and the transactional outbox they form: actions are
// queued in the deciding transaction and claimed through store::Outbox with
// FOR UPDATE SKIP LOCKED under a lease (owner, expiry from the database's
// now(), attempt + 1). Every write after the claim is fenced on
// (lease_owner, attempts), so a worker whose lease was taken over changes nothing.
class ActionRepository {
 public:
  // Queues a pending action and NOTIFYs the workers (delivered at commit).
  static ActionRow Queue(pqxx::work& tx, const NewAction& a);
  static std::optional<ActionRow> Find(pqxx::transaction_base& tx, const std::string& id);
  static Page<ActionRow> List(pqxx::transaction_base& tx, const std::optional<std::string>& release_id,
                              std::optional<std::int64_t> before_seq, int limit);
  // Two releases of a class deciding at once must not both take the last
  // unit of budget: the deciding transaction holds this lock while it counts.
  static void LockBudget(pqxx::work& tx, const std::string& release_class, const std::string& environment);
  // Auto-rollback actions of a class in an environment created within `per`
  // (database clock), whatever their outcome.
  static int CountAutoInWindow(pqxx::transaction_base& tx, const std::string& release_class,
                               const std::string& environment, Millis per);
  static std::int64_t CountPending(pqxx::transaction_base& tx);

  // The outbox (store::Outbox, kind kActions). Claims the next due action
  // (pending and due, or running with an expired lease; automatic ones wait
  // while frozen) for `worker` and reads what the executor needs. Gate
  // actions (executor `gate`) are never claimed here: a gate answer or the
  // timeout sweep claims them with ClaimGate.
  static std::optional<ClaimedAction> ClaimNext(pqxx::work& tx, const std::string& worker, Millis lease);
  // Claims one pending gate action for `claimant` (attempt + 1, a lease like
  // ClaimNext's), so its outcome is recorded by the same fenced
  // CompleteAttempt as any other. nullopt when it is no longer pending.
  static std::optional<ClaimedAction> ClaimGate(pqxx::work& tx, const std::string& action_id,
                                                const std::string& claimant, Millis lease);
  // The id of the release's pending gate action, oldest first, if any.
  static std::optional<std::string> FindPendingGate(pqxx::transaction_base& tx, const std::string& release_id);
  // Every pending gate action, oldest first.
  static std::vector<PendingGateAction> ListPendingGate(pqxx::transaction_base& tx);
  static void RecordAttemptStarted(pqxx::work& tx, const std::string& action_id, int attempt,
                                   const std::string& worker);
  // Records the end of an attempt if this worker still holds its lease;
  // false (nothing written) when it was taken over.
  static bool CompleteAttempt(pqxx::work& tx, const AttemptCompletion& c);
};

}  // namespace backstop::store
