#pragma once

#include <boost/json/object.hpp>

#include "backstop/store/action_repository.hpp"
#include "backstop/store/decision_repository.hpp"
#include "backstop/store/escalation_repository.hpp"

namespace backstop::api {

// {"id", "release_id", "service", "environment", "proposed_action": {type,
// from_version, to_version}, "reasons", "evidence", "summary",
// "required_approvals", "approvals": [{by, at, comment}], "state",
// "created_at", "expires_at", ...}
boost::json::object EscalationToJson(const store::EscalationRow& e);

// {"id", "release_id", "state", "attempts", "executor", "last_error", ...}
boost::json::object ActionToJson(const store::ActionRow& a);

// {"id", "at", "decision", "reasons", "thresholds_version", "mode", "episode"}
boost::json::object DecisionToJson(const store::DecisionRow& d);

}  // namespace backstop::api
