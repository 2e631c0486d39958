#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "backstop/audit/audit_entry.hpp"
#include "backstop/common/result.hpp"
#include "backstop/decision/evaluation_json.hpp"
#include "backstop/http/message.hpp"
#include "backstop/store/release_repository.hpp"

namespace backstop::api {

inline constexpr int kDefaultPageLimit = 100;
inline constexpr int kMaxPageLimit = 1000;

// Parses a request body that must be a JSON object; an empty body is `{}`
// when `allow_empty`. Errors are 400 invalid_json with the parser's reason.
Result<boost::json::object> ParseJsonObject(const std::string& body, bool allow_empty = false);

// Rejects keys not in `allowed` (400 naming the first unknown field).
Status RejectUnknownFields(const boost::json::object& obj, std::initializer_list<const char*> allowed);

// ?limit=: default 100, 1..1000; above the maximum → 400 limit_exceeded.
Result<int> ParsePageLimit(const http::Request& req);

// ?limit= and ?cursor= of a list route.
struct PageParams {
  int limit = kDefaultPageLimit;
  std::optional<std::int64_t> cursor;
};
Result<PageParams> ParsePageParams(const http::Request& req);

// A list answer: {"<key>": items}, plus "next" while more remain.
http::Response ListResponse(const char* key, boost::json::array items, std::optional<std::int64_t> next);

// An optional identifier query parameter; malformed → 400 naming it.
Status ReadIdentifierParam(const http::Request& req, const char* name, std::optional<std::string>& out);

// A JSON string, or null when absent.
boost::json::value OptionalJson(const std::optional<std::string>& s);

// An optional integer query parameter; malformed → 400 naming it.
Result<std::optional<std::int64_t>> ParseIntParam(const http::Request& req, const char* name);

// Rejects query parameters not in `allowed` (400 naming the first unknown one).
Status RejectUnknownParams(const http::Request& req, std::initializer_list<const char*> allowed);

boost::json::object AuditEntryToJson(const audit::AuditEntry& e);

// The release resource without evaluation and decisions (callers add them).
boost::json::object ReleaseToJson(const store::Release& r);


// Parses JSON text stored by us; malformed text becomes a JSON string.
boost::json::value ParseStoredJson(const std::string& text);

// Serializes with a trailing newline-free compact form, always valid JSON:
// a non-finite number is written as null and bytes that are not UTF-8 as
// U+FFFD (MakeWritableJson).
std::string Serialize(const boost::json::value& v);

// Optional string field: absent or null → nullopt; other non-string → error naming it.
Result<std::optional<std::string>> OptionalString(const boost::json::object& obj, const char* field);

}  // namespace backstop::api
