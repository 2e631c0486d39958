#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "backstop/common/result.hpp"
#include "backstop/integrations/deployment_event.hpp"

// CDEvents over CloudEvents HTTP (INTEGRATIONS.md §3). Binary mode: the
// CloudEvent attributes are ce-* headers and the body is the CDEvent
// (application/json). Structured mode: the body is the CloudEvent
// (application/cloudevents+json) with the CDEvent in `data`.
// `dev.cdevents.service.deployed.0.*` and `dev.cdevents.service.upgraded.0.*`
// are deployments; every other type is ignored. Pure.
namespace backstop::integrations {

struct CloudEventRequest {
  std::string content_type;
  // Binary-mode attributes (absent in structured mode).
  std::optional<std::string> ce_specversion;
  std::optional<std::string> ce_type;
  std::optional<std::string> ce_id;
  std::optional<std::string> ce_source;
  std::string body;
};

struct CdeventsDefaults {
  std::optional<std::string> release_class;  // integrations.cdevents.default_release_class
};

// Maps one CloudEvent: a deployment with release id CdeventReleaseId(source,
// id), service = subject.id without a leading "service/", environment =
// subject.content.environment.id, version = the purl version of
// subject.content.artifactId, and release_class, traffic_percent (default
// 100), previous_version, shared_infrastructure and triggered_by from
// customData when it is an object. Errors: 415 for a body that is neither
// mode, 400 naming the attribute, header or field otherwise.
[[nodiscard]] Result<IntakeMapping> MapCloudEvent(const CloudEventRequest& request, const CdeventsDefaults& defaults);

// "cde-" + the first 32 hex digits of SHA-256(source + "\n" + id): a
// redelivered event is the same release.
[[nodiscard]] std::string CdeventReleaseId(std::string_view source, std::string_view id);

// The version of a package URL (pkg:type/namespace/name@version?qualifiers#subpath),
// percent-decoded; nullopt without one or with a bad escape.
[[nodiscard]] std::optional<std::string> PurlVersion(std::string_view purl);

}  // namespace backstop::integrations
