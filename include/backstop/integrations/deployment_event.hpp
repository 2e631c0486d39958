#pragma once

#include <map>
#include <optional>
#include <string>

#include <boost/json/object.hpp>

namespace backstop::integrations {

// A deploy event from another tool, translated into the body of
// `POST /v1/deployments` so one parser validates every intake
// (api/deployment_json). `paths` names where each deployment field came
// from in the upstream payload (`service` ← `subject.id`), so a 400 names
// the field the sender can fix.
struct DeploymentEvent {
  boost::json::object fields;
  std::map<std::string, std::string> paths;
};

// What an intake makes of an event: a deployment, or nothing and why (202).
struct IntakeMapping {
  std::optional<DeploymentEvent> deployment;
  std::optional<std::string> ignored;
};

}  // namespace backstop::integrations
