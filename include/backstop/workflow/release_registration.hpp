#pragma once

#include <string>

#include <pqxx/pqxx>

#include "backstop/common/result.hpp"
#include "backstop/config/config.hpp"
#include "backstop/store/release_repository.hpp"

namespace backstop::workflow {

// Registers a deployment: inserts the release (idempotent on its id, or
// without one on the newest release's identical body),
// supersedes the service/environment's release in progress and its pending
// escalation (notified as escalation.superseded), and audits each step. A
// new release without previous_version takes the version of the newest
// `healthy` release of its service and environment
// (previous_version_inferred); without one the target stays unknown. Row
// locks come first (releases, then
// their escalations), audit appends last: the lock order every writer follows.
Result<store::RegisterOutcome> RegisterRelease(pqxx::work& tx, const config::Notifiers& notifiers,
                                               const store::NewRelease& release, const std::string& deployed_by);

// Changes traffic_percent of a release in progress, audited.
Result<store::Release> ChangeTraffic(pqxx::work& tx, const std::string& release_id, double traffic_percent,
                                     const std::string& actor);

}  // namespace backstop::workflow
