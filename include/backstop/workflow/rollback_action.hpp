#pragma once

#include <string>
#include <vector>

#include "backstop/decision/reason_code.hpp"
#include "backstop/domain/states.hpp"
#include "backstop/store/action_repository.hpp"
#include "backstop/store/release_repository.hpp"

namespace backstop::workflow {

// A rollback of `release` to its previous version; callers add what links it
// to its decision or escalation. The one builder of rollback actions.
store::NewAction RollbackOf(const store::Release& release, domain::DecidedBy decided_by,
                            std::vector<decision::ReasonCode> reasons, std::string executor);

}  // namespace backstop::workflow
