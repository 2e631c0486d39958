#include "backstop/api/json_codec.hpp"

#include <charconv>

#include <boost/json.hpp>

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

boost::json::object AuditEntryToJson(const audit::AuditEntry& e) {
  boost::system::error_code ec;
  boost::json::value payload = boost::json::parse(e.payload, ec);
  if (ec) payload = boost::json::string(e.payload);
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

std::string Serialize(const boost::json::value& v) { return boost::json::serialize(v); }

Result<std::optional<std::string>> OptionalString(const boost::json::object& obj, const char* field) {
  const auto* v = obj.if_contains(field);
  if (v == nullptr || v->is_null()) return std::optional<std::string>{};
  if (!v->is_string()) return Error::InvalidInput(std::string(field) + ": must be a string", {field});
  return std::optional<std::string>(std::string(v->as_string()));
}

}  // namespace backstop::api
