#pragma once

#include <string>
#include <vector>

#include <boost/json.hpp>

namespace backstop::testing {

// A small JSON Schema (2020-12 subset, as OpenAPI 3.1 uses it) validator for
// checking real answers against api/openapi.json: type (one or a list),
// properties, required, additionalProperties: false, items, enum, const,
// oneOf, $ref into the same document, minimum/maximum, minLength/maxLength.
// Returns one message per violation, each with the JSON path; empty = valid.
std::vector<std::string> ValidateJson(const boost::json::value& instance, const boost::json::value& schema,
                                      const boost::json::value& document);

}  // namespace backstop::testing
