#include "backstop/api/deployment_json.hpp"

#include <cmath>
#include <vector>

#include <boost/json.hpp>

#include "backstop/common/json_numbers.hpp"

#include "backstop/api/json_codec.hpp"
#include "backstop/common/identifiers.hpp"
#include "backstop/integrations/flagger.hpp"

namespace backstop::api {

namespace {

// Metadata is free-form context for humans; bounded so it cannot bloat rows.
constexpr std::size_t kMaxMetadataBytes = 16384;
constexpr const char* kMetadataNumberRule =
    "numbers must be finite doubles (at most about 1.8e308 in magnitude) and integers must fit in 64 bits";
constexpr const char* kTrafficRule = "must be a number from 0 to 100";

// Collects every problem with a body so the client fixes them in one go,
// naming each field as the sender wrote it.
class FieldErrors {
 public:
  explicit FieldErrors(const std::map<std::string, std::string>* paths) : paths_(paths) {}

  void Add(const std::string& field, const std::string& reason) {
    std::string name = field;
    if (paths_ != nullptr) {
      if (auto it = paths_->find(field); it != paths_->end()) name = it->second;
    }
    fields_.push_back(name);
    messages_.push_back(name + ": " + reason);
  }
  bool empty() const { return fields_.empty(); }
  Error ToError() const {
    std::string message;
    for (const auto& m : messages_) message += (message.empty() ? "" : "; ") + m;
    return Error::InvalidInput(message, fields_);
  }

 private:
  const std::map<std::string, std::string>* paths_;
  std::vector<std::string> fields_;
  std::vector<std::string> messages_;
};

std::optional<std::string> Identifier(const boost::json::object& o, const char* field, bool required,
                                      FieldErrors& errors) {
  const auto* v = o.if_contains(field);
  if (v == nullptr || (v->is_null() && !required)) {
    if (required) errors.Add(field, "is required");
    return std::nullopt;
  }
  if (!v->is_string() || !IsValidIdentifier(v->as_string())) {
    errors.Add(field, v->is_string() ? kIdentifierRule : std::string("must be a string; ") + kIdentifierRule);
    return std::nullopt;
  }
  return std::string(v->as_string());
}

std::optional<double> TrafficPercent(const boost::json::object& o, bool may_be_text, FieldErrors& errors) {
  const auto* v = o.if_contains("traffic_percent");
  if (v == nullptr) {
    errors.Add("traffic_percent", "is required");
    return std::nullopt;
  }
  std::optional<double> d;
  if (v->is_number()) {
    d = v->to_number<double>();
  } else if (may_be_text && v->is_string()) {
    d = integrations::ParseDecimalText(v->as_string());
  }
  if (!d || !std::isfinite(*d) || *d < 0 || *d > 100) {
    errors.Add("traffic_percent", kTrafficRule);
    return std::nullopt;
  }
  return d;
}

}  // namespace

Result<store::NewRelease> ParseDeployment(const boost::json::object& o, const policy::PolicyRegistry& registry,
                                          const DeploymentRules& rules, std::string_view raw_body) {
  if (auto s = RejectUnknownFields(o, {"id", "service", "environment", "version", "previous_version",
                                       "release_class", "traffic_percent", "shared_infrastructure",
                                       "triggered_by", "metadata"});
      !s) {
    return s.error();
  }
  FieldErrors errors(rules.paths);
  store::NewRelease r;
  if (o.contains("id") || rules.id_required) {
    auto id = Identifier(o, "id", true, errors);
    if (id) {
      r.id = *id;
      r.id_from_client = true;
    }
  } else {
    r.id = NewUuid();
  }
  r.service = Identifier(o, "service", true, errors).value_or("");
  r.environment = Identifier(o, "environment", true, errors).value_or("");
  r.version = Identifier(o, "version", true, errors).value_or("");
  r.previous_version = Identifier(o, "previous_version", false, errors);
  if (r.previous_version && *r.previous_version == r.version) {
    if (rules.previous_equal_to_version_is_absent) {
      r.previous_version.reset();
    } else {
      errors.Add("previous_version", "must differ from version");
    }
  }
  if (auto cls = Identifier(o, "release_class", true, errors)) {
    if (!registry.Newest(*cls)) {
      errors.Add("release_class", "unknown release class " + *cls);
    } else {
      r.release_class = *cls;
    }
  }
  r.traffic_percent = TrafficPercent(o, rules.traffic_may_be_text, errors).value_or(0);
  if (const auto* v = o.if_contains("shared_infrastructure"); v != nullptr && !v->is_null()) {
    if (!v->is_bool()) {
      errors.Add("shared_infrastructure", "must be true or false");
    } else {
      r.shared_infrastructure = v->as_bool();
    }
  }
  r.triggered_by = Identifier(o, "triggered_by", false, errors);
  if (const auto* v = o.if_contains("metadata"); v != nullptr && !v->is_null()) {
    if (!v->is_object()) {
      errors.Add("metadata", "must be a JSON object");
    } else if (HasNonFiniteNumber(*v) || KeysWithOversizedIntegers(raw_body).count("metadata") != 0) {
      // 1e309 parses to infinity, which PostgreSQL's json refuses: a 400, not a 500.
      errors.Add("metadata", kMetadataNumberRule);
    } else {
      std::string text = boost::json::serialize(*v);
      if (text.size() > kMaxMetadataBytes) {
        errors.Add("metadata", "must be at most " + std::to_string(kMaxMetadataBytes) + " bytes");
      } else {
        r.metadata = std::move(text);
      }
    }
  }
  if (!errors.empty()) return errors.ToError();
  if (rules.traffic_outside_identity) {
    boost::json::object identity = o;
    identity.erase("traffic_percent");
    r.request_body = boost::json::serialize(identity);
  } else {
    r.request_body = boost::json::serialize(o);
  }
  return r;
}

Result<double> ParseTrafficPercent(const boost::json::object& body) {
  FieldErrors errors(nullptr);
  const auto traffic = TrafficPercent(body, /*may_be_text=*/false, errors);
  if (!errors.empty()) return errors.ToError();
  return *traffic;
}

Result<store::NewRelease> ParseDeploymentEvent(const integrations::DeploymentEvent& event,
                                               const policy::PolicyRegistry& registry, DeploymentRules rules) {
  rules.id_required = true;
  rules.paths = &event.paths;
  return ParseDeployment(event.fields, registry, rules);
}

}  // namespace backstop::api
