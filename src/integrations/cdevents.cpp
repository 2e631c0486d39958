#include "backstop/integrations/cdevents.hpp"

#include <tuple>
#include <utility>

#include <boost/json.hpp>

#include "backstop/common/sha256.hpp"
#include "backstop/common/percent_decode.hpp"
#include "backstop/integrations/text_codec.hpp"

namespace backstop::integrations {

namespace {

constexpr std::string_view kStructured = "application/cloudevents+json";
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kDeployed = "dev.cdevents.service.deployed.";
constexpr std::string_view kUpgraded = "dev.cdevents.service.upgraded.";
constexpr std::string_view kServicePrefix = "service/";
constexpr double kDefaultTraffic = 100;
// customData keys that fill deployment fields.
constexpr const char* kCustomFields[] = {"release_class", "traffic_percent", "previous_version",
                                         "shared_infrastructure", "triggered_by"};

Error FieldError(const std::string& field, const std::string& reason) {
  return Error::InvalidInput(field + ": " + reason, {field});
}

Error InvalidJson(const std::string& why) { return Error{ErrorKind::kInvalidInput, "invalid_json", why, {}}; }

// The four CloudEvents attributes Backstop reads.
struct Attributes {
  std::string specversion;
  std::string type;
  std::string id;
  std::string source;
};

Result<std::string> RequiredText(const std::optional<std::string>& value, const std::string& name) {
  if (!value || value->empty()) return FieldError(name, "is required");
  return *value;
}

Result<std::string> RequiredString(const boost::json::object& o, const std::string& key, const std::string& path) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return FieldError(path, "is required");
  if (!v->is_string()) return FieldError(path, "must be a string");
  if (v->as_string().empty()) return FieldError(path, "must not be empty");
  return std::string(v->as_string());
}

Result<const boost::json::object*> RequiredObject(const boost::json::object& o, const std::string& key,
                                                  const std::string& path) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return FieldError(path, "is required");
  if (!v->is_object()) return FieldError(path, "must be an object");
  return &v->as_object();
}

// Why a CloudEvent type is not a deployment, or nullopt when it is one.
std::optional<std::string> NotADeployment(std::string_view type) {
  for (const auto prefix : {kDeployed, kUpgraded}) {
    if (!type.starts_with(prefix)) continue;
    const std::string_view version = type.substr(prefix.size());
    if (version.starts_with("0.")) return std::nullopt;
    return "type " + std::string(type) + ": only major version 0 of this event is understood";
  }
  return "type " + std::string(type) + " is not a service deployment";
}

Result<IntakeMapping> MapCdevent(const Attributes& ce, const boost::json::object& event, const CdeventsDefaults& d) {
  auto context = RequiredObject(event, "context", "context");
  if (!context) return context.error();
  const auto& ctx = **context;
  // The context's version key was `specversion` in early CDEvents, `version` since.
  const char* version_key = ctx.contains("version") ? "version" : "specversion";
  if (auto v = RequiredString(ctx, version_key, "context.version"); !v) return v.error();
  if (const auto* type = ctx.if_contains("type"); type != nullptr && !type->is_null()) {
    if (!type->is_string() || type->as_string() != ce.type) {
      return FieldError("context.type", "must be the CloudEvent's type " + ce.type);
    }
  }
  auto subject = RequiredObject(event, "subject", "subject");
  if (!subject) return subject.error();
  auto subject_id = RequiredString(**subject, "id", "subject.id");
  if (!subject_id) return subject_id.error();
  auto content = RequiredObject(**subject, "content", "subject.content");
  if (!content) return content.error();
  auto environment = RequiredObject(**content, "environment", "subject.content.environment");
  if (!environment) return environment.error();
  auto environment_id = RequiredString(**environment, "id", "subject.content.environment.id");
  if (!environment_id) return environment_id.error();
  auto artifact = RequiredString(**content, "artifactId", "subject.content.artifactId");
  if (!artifact) return artifact.error();
  const auto version = PurlVersion(*artifact);
  if (!version) {
    return FieldError("subject.content.artifactId", "must be a package URL with a version (pkg:type/name@version)");
  }

  DeploymentEvent dep;
  dep.fields["id"] = CdeventReleaseId(ce.source, ce.id);
  std::string service = *subject_id;
  if (service.starts_with(kServicePrefix)) service.erase(0, kServicePrefix.size());
  dep.fields["service"] = service;
  dep.paths["service"] = "subject.id";
  dep.fields["environment"] = *environment_id;
  dep.paths["environment"] = "subject.content.environment.id";
  dep.fields["version"] = *version;
  dep.paths["version"] = "subject.content.artifactId";
  dep.fields["traffic_percent"] = kDefaultTraffic;
  if (const auto* custom = event.if_contains("customData"); custom != nullptr && custom->is_object()) {
    for (const char* key : kCustomFields) {
      if (const auto* v = custom->as_object().if_contains(key)) {
        dep.fields[key] = *v;
        dep.paths[key] = std::string("customData.") + key;
      }
    }
  }
  if (!dep.fields.contains("release_class")) {
    if (!d.release_class) {
      return FieldError("customData.release_class",
                        "is required (integrations.cdevents.default_release_class is not configured)");
    }
    dep.fields["release_class"] = *d.release_class;
    dep.paths["release_class"] = "integrations.cdevents.default_release_class";
  }
  dep.fields["metadata"] = boost::json::object{
      {"cdevents", boost::json::object{{"type", ce.type}, {"source", ce.source}, {"id", ce.id},
                                       {"subject", *subject_id}, {"artifact", *artifact}}}};
  return IntakeMapping{std::move(dep), std::nullopt};
}

}  // namespace

std::string CdeventReleaseId(std::string_view source, std::string_view id) {
  std::string material(source);
  material += '\n';
  material += id;
  return "cde-" + Sha256Hex(material).substr(0, 32);
}

std::optional<std::string> PurlVersion(std::string_view purl) {
  if (!purl.starts_with("pkg:")) return std::nullopt;
  const std::string_view before_subpath = purl.substr(0, purl.find('#'));
  const std::string_view before_qualifiers = before_subpath.substr(0, before_subpath.find('?'));
  const auto at = before_qualifiers.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  auto version = PercentDecode(before_qualifiers.substr(at + 1));
  if (!version || version->empty()) return std::nullopt;
  return version;
}

Result<IntakeMapping> MapCloudEvent(const CloudEventRequest& request, const CdeventsDefaults& defaults) {
  const std::string media = MediaType(request.content_type);
  if (media != kStructured && media != kJson) {
    return Error{ErrorKind::kUnsupportedMediaType, "unsupported_media_type",
                 "the body must be application/json (binary mode, ce-* headers) or "
                 "application/cloudevents+json (structured mode)",
                 {}};
  }
  boost::system::error_code ec;
  const boost::json::value body = boost::json::parse(request.body, ec);
  if (ec) return InvalidJson("malformed JSON: " + ec.message());

  Attributes ce;
  const boost::json::object* event = nullptr;
  if (media == kStructured) {
    if (!body.is_object()) return InvalidJson("a structured CloudEvent must be a JSON object");
    const auto& envelope = body.as_object();
    for (auto [name, out] : {std::pair<const char*, std::string*>{"specversion", &ce.specversion},
                             {"type", &ce.type}, {"id", &ce.id}, {"source", &ce.source}}) {
      auto v = RequiredString(envelope, name, name);
      if (!v) return v.error();
      *out = *v;
    }
    if (auto why = NotADeployment(ce.type)) return IntakeMapping{std::nullopt, why};
    if (envelope.contains("data_base64")) return FieldError("data_base64", "is not supported; send JSON in data");
    auto data = RequiredObject(envelope, "data", "data");
    if (!data) return data.error();
    event = *data;
  } else {
    for (auto [name, value, out] :
         {std::tuple<const char*, const std::optional<std::string>*, std::string*>{
              "ce-specversion", &request.ce_specversion, &ce.specversion},
          {"ce-type", &request.ce_type, &ce.type},
          {"ce-id", &request.ce_id, &ce.id},
          {"ce-source", &request.ce_source, &ce.source}}) {
      auto v = RequiredText(*value, name);
      if (!v) return v.error();
      *out = *v;
    }
    if (auto why = NotADeployment(ce.type)) return IntakeMapping{std::nullopt, why};
    if (!body.is_object()) return InvalidJson("the CDEvent must be a JSON object");
    event = &body.as_object();
  }
  return MapCdevent(ce, *event, defaults);
}

}  // namespace backstop::integrations
