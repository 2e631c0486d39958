#include "backstop/http/error_response.hpp"

#include <boost/json.hpp>

#include "backstop/common/utf8.hpp"

namespace backstop::http {

namespace {

constexpr int kRetryAfterSeconds = 1;

}  // namespace

int StatusFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput: return 400;
    case ErrorKind::kUnauthorized: return 401;
    case ErrorKind::kForbidden: return 403;
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kMethodNotAllowed: return 405;
    case ErrorKind::kConflict: return 409;
    case ErrorKind::kPayloadTooLarge: return 413;
    case ErrorKind::kUnsupportedMediaType: return 415;
    case ErrorKind::kInternal: return 500;
    case ErrorKind::kUnavailable: return 503;
  }
  return 500;
}

// Messages echo what the request held (a path id, a query key), and
// Boost.JSON writes string bytes as given: bytes that are not UTF-8 would
// make the answer something no JSON parser accepts. Every string of the
// body is made well-formed here, the one place error bodies are built.
Response ErrorResponse(const Error& error) {
  boost::json::array details;
  for (const auto& d : error.details) details.emplace_back(ToValidUtf8(d));
  boost::json::object body{{"error", boost::json::object{{"code", ToValidUtf8(error.code)},
                                                         {"message", ToValidUtf8(error.message)},
                                                         {"details", details}}}};
  Response r = JsonResponse(StatusFor(error.kind), boost::json::serialize(body));
  if (error.kind == ErrorKind::kUnavailable) {
    r.headers.emplace_back("Retry-After", std::to_string(kRetryAfterSeconds));
  }
  if (error.kind == ErrorKind::kUnauthorized) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return r;
}

Response JsonResponse(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace backstop::http
