#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "backstop/common/result.hpp"
#include "backstop/integrations/deployment_event.hpp"

// Flagger webhooks (INTEGRATIONS.md §2.2). Flagger POSTs its
// CanaryWebhookPayload to every hook: {"name", "namespace", "phase",
// "checksum", "metadata": {string: string}} (`metadata` left out when the
// webhook has none; event hooks add eventMessage, eventType and timestamp).
// Flagger cannot send headers, so the caller's token travels as
// metadata.token. Pure.
namespace backstop::integrations {

struct FlaggerDefaults {
  std::optional<std::string> release_class;  // integrations.flagger.default_release_class
  double traffic_percent = 10;               // integrations.flagger.default_traffic_percent
};

// metadata.token when it is a string; the caller looks it up like a bearer
// token and never logs or stores it.
[[nodiscard]] std::optional<std::string> FlaggerToken(const boost::json::object& payload);

struct FlaggerCall {
  // The release: id flagger.{namespace}.{name}.{checksum}, service = name,
  // environment = namespace, version = metadata.version or the checksum,
  // release_class and traffic_percent from metadata (strings: "10" is 10)
  // or the defaults; previous_version, shared_infrastructure ("true" /
  // "false") and triggered_by from metadata when given. Its metadata
  // records the canary, never the token.
  DeploymentEvent deployment;
  std::string phase;
  // What an integration.event audit entry records: canary, phase and, for
  // event hooks, Flagger's event type and message (bounded). No token.
  boost::json::object event;
};

// Validates the payload (400 naming the field) and maps it.
[[nodiscard]] Result<FlaggerCall> ParseFlaggerPayload(const boost::json::object& payload,
                                                      const FlaggerDefaults& defaults);

// A decimal number written as a string ("10", "2.5"), as Flagger metadata
// and templated Argo arguments carry them; nullopt for anything else.
[[nodiscard]] std::optional<double> ParseDecimalText(std::string_view text);

}  // namespace backstop::integrations
