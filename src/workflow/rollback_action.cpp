#include "backstop/workflow/rollback_action.hpp"

namespace backstop::workflow {

store::NewAction RollbackOf(const store::Release& release, domain::DecidedBy decided_by,
                            std::vector<decision::ReasonCode> reasons, std::string executor) {
  store::NewAction a;
  a.release_id = release.id;
  a.service = release.service;
  a.environment = release.environment;
  a.release_class = release.release_class;
  a.action_type = decision::ProposedActionType::kRollback;
  a.from_version = release.version;
  a.to_version = release.previous_version;
  a.decided_by = decided_by;
  a.reasons = std::move(reasons);
  a.executor = std::move(executor);
  return a;
}

}  // namespace backstop::workflow
