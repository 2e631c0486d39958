#include "backstop/integrations/github.hpp"

#include <cctype>

#include <boost/json.hpp>

#include "backstop/common/identifiers.hpp"
#include "backstop/common/sha256.hpp"
#include "backstop/common/percent_decode.hpp"
#include "backstop/integrations/text_codec.hpp"

namespace backstop::integrations {

namespace {

constexpr std::string_view kSignaturePrefix = "sha256=";
constexpr std::string_view kDeploymentStatus = "deployment_status";
// deployment.payload keys that fill deployment fields.
constexpr const char* kPayloadFields[] = {"release_class", "traffic_percent", "previous_version",
                                          "shared_infrastructure"};

Error FieldError(const std::string& field, const std::string& reason) {
  return Error::InvalidInput(field + ": " + reason, {field});
}

Result<const boost::json::object*> RequiredObject(const boost::json::object& o, const char* key,
                                                  const std::string& path) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return FieldError(path, "is required");
  if (!v->is_object()) return FieldError(path, "must be an object");
  return &v->as_object();
}

Result<std::string> RequiredString(const boost::json::object& o, const char* key, const std::string& path) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return FieldError(path, "is required");
  if (!v->is_string()) return FieldError(path, "must be a string");
  if (v->as_string().empty()) return FieldError(path, "must not be empty");
  return std::string(v->as_string());
}

// A login as an identifier: every other character becomes '_'.
std::string IdentifierFrom(std::string_view login) {
  std::string out;
  for (const char c : login.substr(0, kMaxIdentifierLength)) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '-';
    out.push_back(ok ? c : '_');
  }
  return out;
}

// deployment.payload: an object, or a string holding one (the REST API
// accepts both), or nothing.
Result<boost::json::object> DeploymentPayload(const boost::json::object& deployment) {
  const auto* v = deployment.if_contains("payload");
  if (v == nullptr || v->is_null()) return boost::json::object{};
  if (v->is_object()) return v->as_object();
  if (v->is_string()) {
    if (v->as_string().empty()) return boost::json::object{};
    boost::system::error_code ec;
    const boost::json::value parsed = boost::json::parse(v->as_string(), ec);
    if (!ec && parsed.is_object()) return parsed.as_object();
  }
  return FieldError("deployment.payload", "must be a JSON object (or a string holding one)");
}

}  // namespace

bool VerifyGithubSignature(std::string_view secret, std::string_view body, const std::optional<std::string>& header) {
  if (secret.empty() || !header || !header->starts_with(kSignaturePrefix)) return false;
  std::string given = header->substr(kSignaturePrefix.size());
  for (char& c : given) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ConstantTimeEquals(HmacSha256Hex(secret, body), given);
}

Result<std::string> GithubPayloadJson(std::string_view content_type, std::string_view body) {
  const std::string media = MediaType(content_type);
  if (media == "application/json") return std::string(body);
  if (media == "application/x-www-form-urlencoded") {
    // payload=<url-encoded JSON>
    std::string_view rest = body;
    while (!rest.empty()) {
      const auto amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
      if (pair.starts_with("payload=")) {
        auto decoded = PercentDecode(pair.substr(8), /*plus_is_space=*/true);
        if (!decoded) return FieldError("payload", "malformed form encoding");
        return *decoded;
      }
    }
    return FieldError("payload", "is required in a form-encoded delivery");
  }
  return Error{ErrorKind::kUnsupportedMediaType, "unsupported_media_type",
               "the body must be application/json or application/x-www-form-urlencoded", {}};
}

Result<IntakeMapping> MapGithubEvent(std::string_view event, const std::string& payload_json,
                                     const GithubDefaults& defaults) {
  boost::system::error_code ec;
  const boost::json::value body = boost::json::parse(payload_json, ec);
  if (ec) return Error{ErrorKind::kInvalidInput, "invalid_json", "malformed JSON: " + ec.message(), {}};
  if (!body.is_object()) return Error{ErrorKind::kInvalidInput, "invalid_json", "the payload must be a JSON object", {}};
  if (event.empty()) return FieldError("X-GitHub-Event", "is required");
  if (event != kDeploymentStatus) {
    return IntakeMapping{std::nullopt, "event " + std::string(event) + " is not a deployment_status"};
  }
  const auto& o = body.as_object();
  auto status = RequiredObject(o, "deployment_status", "deployment_status");
  if (!status) return status.error();
  auto state = RequiredString(**status, "state", "deployment_status.state");
  if (!state) return state.error();
  if (*state != "success" && *state != "in_progress") {
    return IntakeMapping{std::nullopt, "deployment_status.state is " + *state + ", not success or in_progress"};
  }
  auto deployment = RequiredObject(o, "deployment", "deployment");
  if (!deployment) return deployment.error();
  const auto* id = (*deployment)->if_contains("id");
  if (id == nullptr || id->is_null()) return FieldError("deployment.id", "is required");
  if (!id->is_int64() && !id->is_uint64()) return FieldError("deployment.id", "must be an integer");
  const std::string deployment_id = boost::json::serialize(*id);
  auto environment = RequiredString(**deployment, "environment", "deployment.environment");
  if (!environment) return environment.error();
  auto repository = RequiredObject(o, "repository", "repository");
  if (!repository) return repository.error();
  auto repo = RequiredString(**repository, "name", "repository.name");
  if (!repo) return repo.error();
  auto owner_object = RequiredObject(**repository, "owner", "repository.owner");
  if (!owner_object) return owner_object.error();
  auto owner = RequiredString(**owner_object, "login", "repository.owner.login");
  if (!owner) return owner.error();
  auto payload = DeploymentPayload(**deployment);
  if (!payload) return payload.error();

  DeploymentEvent d;
  d.fields["id"] = "gh." + *owner + "." + *repo + "." + deployment_id;
  d.paths["id"] = "repository.name";
  if (const auto* service = payload->if_contains("service")) {
    d.fields["service"] = *service;
    d.paths["service"] = "deployment.payload.service";
  } else {
    d.fields["service"] = *repo;
    d.paths["service"] = "repository.name";
  }
  d.fields["environment"] = *environment;
  d.paths["environment"] = "deployment.environment";
  if (const auto* version = payload->if_contains("version")) {
    d.fields["version"] = *version;
    d.paths["version"] = "deployment.payload.version";
  } else {
    auto sha = RequiredString(**deployment, "sha", "deployment.sha");
    if (!sha) return sha.error();
    d.fields["version"] = *sha;
    d.paths["version"] = "deployment.sha";
  }
  for (const char* key : kPayloadFields) {
    if (const auto* v = payload->if_contains(key)) {
      d.fields[key] = *v;
      d.paths[key] = std::string("deployment.payload.") + key;
    }
  }
  if (!d.fields.contains("release_class")) {
    if (!defaults.release_class) {
      return FieldError("deployment.payload.release_class",
                        "is required (integrations.github.default_release_class is not configured)");
    }
    d.fields["release_class"] = *defaults.release_class;
    d.paths["release_class"] = "integrations.github.default_release_class";
  }
  if (!d.fields.contains("traffic_percent")) d.fields["traffic_percent"] = defaults.traffic_percent;
  std::string creator;
  if (const auto* c = (*deployment)->if_contains("creator"); c != nullptr && c->is_object()) {
    if (const auto* login = c->as_object().if_contains("login"); login != nullptr && login->is_string()) {
      creator = std::string(login->as_string());
    }
  }
  if (!creator.empty()) {
    d.fields["triggered_by"] = IdentifierFrom(creator);
    d.paths["triggered_by"] = "deployment.creator.login";
  }
  // Only what every status of this deployment shares, so in_progress, then
  // success, then a redelivery all replay the first registration.
  boost::json::object github{{"repository", *owner + "/" + *repo}, {"deployment_id", *id}};
  for (const char* key : {"ref", "task"}) {
    if (const auto* v = (*deployment)->if_contains(key); v != nullptr && v->is_string()) github[key] = *v;
  }
  if (!creator.empty()) github["creator"] = creator;
  d.fields["metadata"] = boost::json::object{{"github", std::move(github)}};
  return IntakeMapping{std::move(d), std::nullopt};
}

}  // namespace backstop::integrations
