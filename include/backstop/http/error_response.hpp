#pragma once

#include <string>

#include "backstop/common/error.hpp"
#include "backstop/http/message.hpp"

namespace backstop::http {

// The one mapping from ErrorKind to HTTP status (DESIGN "REST API"):
// 400, 401, 403, 404, 405, 409, 413, 415, 500, 503.
int StatusFor(ErrorKind kind);

// Builds the JSON error body of DESIGN: {"error": {"code", "message", "details"}},
// with the status from the error's kind, Retry-After on 503 and
// WWW-Authenticate on 401. Bytes that are not UTF-8 (a path id like %ff%fe
// echoed in a message) become U+FFFD, so the body is always valid JSON.
Response ErrorResponse(const Error& error);

// A JSON answer with the given status.
Response JsonResponse(int status, std::string body);

}  // namespace backstop::http
