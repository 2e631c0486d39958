#include "backstop/api/json_codec.hpp"

#include <charconv>
#include <cmath>

#include <boost/json.hpp>

#include "backstop/common/identifiers.hpp"
#include "backstop/common/writable_json.hpp"
#include "backstop/http/error_response.hpp"

namespace backstop::api {

Result<boost::json::object> ParseJsonObject(const std::string& body, bool allow_empty) {
  if (body.empty()) {
    if (allow_empty) return boost::json::object{};
    return Error{ErrorKind::kInvalidInput, "invalid_json", "the body must be a JSON object", {}};
  }
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) {
    return Error{ErrorKind::kInvalidInput, "invalid_json", "malformed JSON: " + ec.message(), {}};
  }
  if (!v.is_object()) {
    return Error{ErrorKind::kInvalidInput, "invalid_json", "the body must be a JSON object", {}};
  }
  return std::move(v.as_object());
}

Status RejectUnknownFields(const boost::json::object& obj,
                           std::initializer_list<const char*> allowed) {
  for (const auto& kv : obj) {
    bool known = false;
    for (const char* a : allowed) known = known || kv.key() == a;
    if (!known) {
      const std::string key(kv.key());
      return Error::InvalidInput(key + ": unknown field", {key});
    }
  }
  return Ok();
}

Result<std::optional<std::int64_t>> ParseIntParam(const http::Request& req, const char* name) {
  const auto raw = req.Query(name);
  if (!raw) return std::optional<std::int64_t>{};
  std::int64_t v = 0;
  const auto* end = raw->data() + raw->size();
  const auto [ptr, ec] = std::from_chars(raw->data(), end, v);
  if (raw->empty() || ec != std::errc() || ptr != end) {
    return Error::InvalidInput(std::string(name) + ": must be an integer", {name});
  }
  return std::optional<std::int64_t>(v);
}

Result<int> ParsePageLimit(const http::Request& req) {
  auto v = ParseIntParam(req, "limit");
  if (!v) return v.error();
  if (!v.value()) return kDefaultPageLimit;
  const std::int64_t n = *v.value();
  if (n < 1) return Error::InvalidInput("limit: must be at least 1", {"limit"});
  if (n > kMaxPageLimit) {
    return Error{ErrorKind::kInvalidInput, "limit_exceeded",
                 "limit: at most " + std::to_string(kMaxPageLimit) + " per page", {"limit"}};
  }
  return static_cast<int>(n);
}

Status RejectUnknownParams(const http::Request& req, std::initializer_list<const char*> allowed) {
  for (const auto& [k, v] : req.query) {
    bool known = false;
    for (const char* a : allowed) known = known || k == a;
    if (!known) return Error::InvalidInput(k + ": unknown query parameter", {k});
  }
  return Ok();
}

boost::json::value ParseStoredJson(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) return boost::json::string(text);
  return v;
}

boost::json::value OptionalJson(const std::optional<std::string>& s) {
  return s ? boost::json::value(*s) : boost::json::value(nullptr);
}

Result<PageParams> ParsePageParams(const http::Request& req) {
  auto limit = ParsePageLimit(req);
  if (!limit) return limit.error();
  auto cursor = ParseIntParam(req, "cursor");
  if (!cursor) return cursor.error();
  return PageParams{*limit, *cursor};
}

http::Response ListResponse(const char* key, boost::json::array items, std::optional<std::int64_t> next) {
  boost::json::object body{{key, std::move(items)}};
  if (next) body["next"] = std::to_string(*next);
  return http::JsonResponse(200, Serialize(body));
}

Status ReadIdentifierParam(const http::Request& req, const char* name, std::optional<std::string>& out) {
  if (auto v = req.Query(name)) {
    if (!IsValidIdentifier(*v)) return Error::InvalidInput(std::string(name) + ": " + kIdentifierRule, {name});
    out = *v;
  }
  return Ok();
}

boost::json::object ReleaseToJson(const store::Release& r) {
  boost::json::object o;
  o["id"] = r.id;
  o["service"] = r.service;
  o["environment"] = r.environment;
  o["version"] = r.version;
  o["previous_version"] = OptionalJson(r.previous_version);
  o["previous_version_inferred"] = r.previous_version_inferred;
  o["release_class"] = r.release_class;
  o["thresholds_version"] = r.thresholds_version;
  o["traffic_percent"] = decision::JsonNumber(r.traffic_percent);
  o["shared_infrastructure"] = r.shared_infrastructure;
  o["status"] = std::string(domain::ToString(r.status));
  o["deployed_by"] = r.deployed_by;
  o["triggered_by"] = OptionalJson(r.triggered_by);
  o["metadata"] = r.metadata ? ParseStoredJson(*r.metadata) : boost::json::value(nullptr);
  o["started_at"] = FormatRfc3339(r.started_at);
  o["updated_at"] = FormatRfc3339(r.updated_at);
  return o;
}

boost::json::object AuditEntryToJson(const audit::AuditEntry& e) {
  boost::json::value payload = ParseStoredJson(e.payload);
  boost::json::object o;
  o["seq"] = e.seq;
  o["at"] = FormatRfc3339(e.at);
  o["actor"] = e.actor;
  o["kind"] = e.kind;
  o["release_id"] = e.release_id ? boost::json::value(*e.release_id) : boost::json::value(nullptr);
  o["payload"] = std::move(payload);
  o["prev_hash"] = e.prev_hash;
  o["hash"] = e.hash;
  return o;
}

// The last guard of "every answer is JSON": nothing should hand in an
// infinite number or bytes that are not UTF-8 (numbers from requests are
// checked, evaluations write through JsonNumber, parsed bodies are valid
// UTF-8, error bodies are repaired where they are built), so the copy is
// only paid for in the case that must not happen.
std::string Serialize(const boost::json::value& v) {
  if (IsWritableJson(v)) return boost::json::serialize(v);
  boost::json::value copy = v;
  MakeWritableJson(copy);
  return boost::json::serialize(copy);
}

Result<std::optional<std::string>> OptionalString(const boost::json::object& obj, const char* field) {
  const auto* v = obj.if_contains(field);
  if (v == nullptr || v->is_null()) return std::optional<std::string>{};
  if (!v->is_string()) return Error::InvalidInput(std::string(field) + ": must be a string", {field});
  return std::optional<std::string>(std::string(v->as_string()));
}

}  // namespace backstop::api
