#pragma once

#include <string>
#include <utility>
#include <vector>

namespace backstop {

// The closed set of error kinds. Each maps to exactly one HTTP status in
// http::StatusFor (include/backstop/http/error_response.hpp): 400, 401, 403,
// 404, 405, 409, 413, 415, 500, 503.
enum class ErrorKind {
  kInvalidInput,          // 400
  kUnauthorized,          // 401
  kForbidden,             // 403
  kNotFound,              // 404
  kMethodNotAllowed,      // 405
  kConflict,              // 409
  kPayloadTooLarge,       // 413
  kUnsupportedMediaType,  // 415
  kInternal,              // 500
  kUnavailable,           // 503
};

// An error as a value. `code` is the machine-readable wire code clients see
// (e.g. "invalid_input", "limit_exceeded", "separation_of_duties");
// `message` is for humans; `details` names fields or files that were wrong.
struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string code;
  std::string message;
  std::vector<std::string> details;

  static Error InvalidInput(std::string message, std::vector<std::string> details = {}) {
    return {ErrorKind::kInvalidInput, "invalid_input", std::move(message), std::move(details)};
  }
  static Error Unauthorized(std::string message) {
    return {ErrorKind::kUnauthorized, "unauthorized", std::move(message), {}};
  }
  static Error Forbidden(std::string code, std::string message) {
    return {ErrorKind::kForbidden, std::move(code), std::move(message), {}};
  }
  static Error NotFound(std::string message) {
    return {ErrorKind::kNotFound, "not_found", std::move(message), {}};
  }
  static Error Conflict(std::string code, std::string message) {
    return {ErrorKind::kConflict, std::move(code), std::move(message), {}};
  }
  static Error Unavailable(std::string message) {
    return {ErrorKind::kUnavailable, "unavailable", std::move(message), {}};
  }
  static Error Internal(std::string message) {
    return {ErrorKind::kInternal, "internal", std::move(message), {}};
  }
};

}  // namespace backstop
