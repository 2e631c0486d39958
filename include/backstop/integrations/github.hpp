#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "backstop/common/result.hpp"
#include "backstop/integrations/deployment_event.hpp"

// GitHub deployment webhooks (INTEGRATIONS.md §3). GitHub signs the raw
// body with the hook's secret (`X-Hub-Signature-256: sha256=<hex>`) and names
// the event in `X-GitHub-Event`; a `deployment_status` whose state is
// `success` or `in_progress` is a deployment, everything else is ignored.
// Pure.
namespace backstop::integrations {

// True when `header` is "sha256=" + hex HMAC-SHA256(secret, body), compared
// in constant time. An empty secret verifies nothing.
[[nodiscard]] bool VerifyGithubSignature(std::string_view secret, std::string_view body,
                                         const std::optional<std::string>& header);

// The JSON payload of a delivery: the body itself (application/json) or the
// `payload` form field (application/x-www-form-urlencoded, GitHub's other
// content type). 415 for any other body.
[[nodiscard]] Result<std::string> GithubPayloadJson(std::string_view content_type, std::string_view body);

struct GithubDefaults {
  std::optional<std::string> release_class;  // integrations.github.default_release_class
  double traffic_percent = 100;              // integrations.github.default_traffic_percent
};

// Maps one delivery: id gh.{owner}.{repo}.{deployment.id}, service =
// deployment.payload.service or the repository name, environment =
// deployment.environment, version = deployment.payload.version or
// deployment.sha, triggered_by = deployment.creator.login (characters an
// identifier cannot hold become '_': "github-actions[bot]" →
// "github-actions_bot_"), release_class, traffic_percent and
// previous_version from deployment.payload or the defaults. 400 naming the
// field of a deployment_status that lacks one.
[[nodiscard]] Result<IntakeMapping> MapGithubEvent(std::string_view event, const std::string& payload_json,
                                                   const GithubDefaults& defaults);

}  // namespace backstop::integrations
