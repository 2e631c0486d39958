#include "backstop/integrations/flagger.hpp"

#include <charconv>
#include <cmath>

#include <boost/json.hpp>

#include "backstop/common/identifiers.hpp"

namespace backstop::integrations {

namespace {

constexpr std::size_t kMaxEventMessageBytes = 1024;

// Keys of Flagger's metadata that Backstop reads; the rest belong to other
// webhooks and are ignored.
constexpr const char* kToken = "token";
constexpr const char* kVersion = "version";
constexpr const char* kReleaseClass = "release_class";
constexpr const char* kTraffic = "traffic_percent";
constexpr const char* kPrevious = "previous_version";
constexpr const char* kShared = "shared_infrastructure";
constexpr const char* kTriggeredBy = "triggered_by";
constexpr const char* kEventType = "eventType";
constexpr const char* kEventMessage = "eventMessage";

Error FieldError(const std::string& field, const std::string& reason) {
  return Error::InvalidInput(field + ": " + reason, {field});
}

// A required payload string that is also an identifier (it becomes part of the release id).
Result<std::string> IdentifierField(const boost::json::object& o, const char* field) {
  const auto* v = o.if_contains(field);
  if (v == nullptr || v->is_null()) return FieldError(field, "is required");
  if (!v->is_string()) return FieldError(field, std::string("must be a string; ") + kIdentifierRule);
  if (!IsValidIdentifier(v->as_string())) return FieldError(field, kIdentifierRule);
  return std::string(v->as_string());
}

std::string Truncated(std::string_view s, std::size_t limit) {
  if (s.size() <= limit) return std::string(s);
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  return std::string(s.substr(0, cut)) + "...";
}

}  // namespace

std::optional<double> ParseDecimalText(std::string_view text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  double d = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, d);
  if (ec != std::errc() || ptr != end || !std::isfinite(d)) return std::nullopt;
  return d;
}

std::optional<std::string> FlaggerToken(const boost::json::object& payload) {
  const auto* metadata = payload.if_contains("metadata");
  if (metadata == nullptr || !metadata->is_object()) return std::nullopt;
  const auto* token = metadata->as_object().if_contains(kToken);
  if (token == nullptr || !token->is_string() || token->as_string().empty()) return std::nullopt;
  return std::string(token->as_string());
}

Result<FlaggerCall> ParseFlaggerPayload(const boost::json::object& payload, const FlaggerDefaults& defaults) {
  auto name = IdentifierField(payload, "name");
  if (!name) return name.error();
  auto ns = IdentifierField(payload, "namespace");
  if (!ns) return ns.error();
  auto checksum = IdentifierField(payload, "checksum");
  if (!checksum) return checksum.error();
  std::string phase;
  if (const auto* v = payload.if_contains("phase"); v != nullptr && !v->is_null()) {
    if (!v->is_string()) return FieldError("phase", "must be a string");
    phase = std::string(v->as_string());
  }

  // Flagger's metadata is a map of strings.
  boost::json::object metadata;
  if (const auto* v = payload.if_contains("metadata"); v != nullptr && !v->is_null()) {
    if (!v->is_object()) return FieldError("metadata", "must be an object of strings");
    for (const auto& kv : v->as_object()) {
      if (!kv.value().is_string()) return FieldError("metadata." + std::string(kv.key()), "must be a string");
    }
    metadata = v->as_object();
  }
  const auto text = [&](const char* key) -> std::optional<std::string> {
    const auto* v = metadata.if_contains(key);
    if (v == nullptr) return std::nullopt;
    return std::string(v->as_string());
  };

  FlaggerCall call;
  call.phase = phase;
  DeploymentEvent& d = call.deployment;
  const std::string id = "flagger." + *ns + "." + *name + "." + *checksum;
  if (id.size() > kMaxIdentifierLength) {
    return FieldError("name", "the release id " + id + " would be longer than " +
                                  std::to_string(kMaxIdentifierLength) + " characters");
  }
  d.fields["id"] = id;
  d.paths["id"] = "name";
  d.fields["service"] = *name;
  d.paths["service"] = "name";
  d.fields["environment"] = *ns;
  d.paths["environment"] = "namespace";
  if (auto version = text(kVersion)) {
    d.fields["version"] = *version;
    d.paths["version"] = "metadata.version";
  } else {
    d.fields["version"] = *checksum;
    d.paths["version"] = "checksum";
  }
  if (auto cls = text(kReleaseClass)) {
    d.fields["release_class"] = *cls;
    d.paths["release_class"] = "metadata.release_class";
  } else if (defaults.release_class) {
    d.fields["release_class"] = *defaults.release_class;
    d.paths["release_class"] = "integrations.flagger.default_release_class";
  } else {
    return FieldError("metadata.release_class",
                      "is required (integrations.flagger.default_release_class is not configured)");
  }
  if (auto traffic = text(kTraffic)) {
    const auto value = ParseDecimalText(*traffic);
    if (!value) return FieldError("metadata.traffic_percent", "must be a number from 0 to 100");
    d.fields["traffic_percent"] = *value;
  } else {
    d.fields["traffic_percent"] = defaults.traffic_percent;
  }
  d.paths["traffic_percent"] = "metadata.traffic_percent";
  if (auto previous = text(kPrevious)) {
    d.fields["previous_version"] = *previous;
    d.paths["previous_version"] = "metadata.previous_version";
  }
  if (auto shared = text(kShared)) {
    if (*shared != "true" && *shared != "false") {
      return FieldError("metadata.shared_infrastructure", "must be \"true\" or \"false\"");
    }
    d.fields["shared_infrastructure"] = *shared == "true";
  }
  if (auto by = text(kTriggeredBy)) {
    d.fields["triggered_by"] = *by;
    d.paths["triggered_by"] = "metadata.triggered_by";
  }
  // The same for every hook of one canary revision, so each hook's
  // registration is an idempotent replay of the first.
  d.fields["metadata"] = boost::json::object{
      {"flagger", boost::json::object{{"canary", *name}, {"namespace", *ns}, {"checksum", *checksum}}}};

  call.event = {{"integration", "flagger"}, {"canary", *ns + "/" + *name}, {"checksum", *checksum},
                {"phase", phase}};
  if (auto type = text(kEventType)) call.event["event_type"] = Truncated(*type, kMaxEventMessageBytes);
  if (auto message = text(kEventMessage)) call.event["message"] = Truncated(*message, kMaxEventMessageBytes);
  return call;
}

}  // namespace backstop::integrations
