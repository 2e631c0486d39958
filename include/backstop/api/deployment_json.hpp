#pragma once

#include <string_view>

#include <map>
#include <string>

#include <boost/json/object.hpp>

#include "backstop/common/result.hpp"
#include "backstop/integrations/deployment_event.hpp"
#include "backstop/policy/policy_registry.hpp"
#include "backstop/store/release_repository.hpp"

namespace backstop::api {

// How a deployment body is read. `POST /v1/deployments` uses the defaults;
// the integrations relax only what their upstream formats force on them.
struct DeploymentRules {
  bool id_required = false;
  // Templated Argo arguments and Flagger metadata are strings: "10" is 10.
  bool traffic_may_be_text = false;
  // The gates change traffic_percent on later calls, so it is left out of
  // the stored body an idempotent replay must match.
  bool traffic_outside_identity = false;
  // Argo's stable and latest pod-template hashes are equal when there is no
  // older revision: a previous_version equal to version then means none.
  bool previous_equal_to_version_is_absent = false;
  // Where each field came from upstream (`service` ← `subject.id`): errors
  // name that path instead.
  const std::map<std::string, std::string>* paths = nullptr;
};

// Validates a deployment body fully (every problem, 400 naming each field)
// and builds the release to register. The stored request_body is the
// body's canonical serialization.
// `raw_body`, when given, is the text `body` was parsed from: only the text
// shows an integer literal too large for 64 bits, which the parser rounded.
Result<store::NewRelease> ParseDeployment(const boost::json::object& body, const policy::PolicyRegistry& registry,
                                          const DeploymentRules& rules = {}, std::string_view raw_body = {});

// The body of POST /v1/releases/{id}/traffic's one field: 0..100 (400 naming it).
Result<double> ParseTrafficPercent(const boost::json::object& body);

// A deploy event mapped by an integration, read like a deployment whose
// client chose the id (with `rules` besides); errors name the upstream fields.
Result<store::NewRelease> ParseDeploymentEvent(const integrations::DeploymentEvent& event,
                                               const policy::PolicyRegistry& registry, DeploymentRules rules = {});

}  // namespace backstop::api
