#pragma once

#include <string_view>

namespace backstop::api {

// The OpenAPI 3.1 document of every route, body, answer, error and webhook
// (api/openapi.json, compiled in), served at GET /openapi.json.
std::string_view OpenApiDocument();

}  // namespace backstop::api
