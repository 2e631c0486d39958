#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backstop::http {

// A request as handlers see it: no Beast types, so handlers and their tests
// compile without Beast.
struct Request {
  std::string method;        // "GET", "POST", ...
  std::string target;        // raw request target
  std::string path;          // target without the query string
  std::vector<std::pair<std::string, std::string>> query;  // percent-decoded
  std::string body;
  std::string content_type;
  std::string authorization;
  std::vector<std::pair<std::string, std::string>> headers;  // every header, as received

  // The first value of a query parameter, if present.
  std::optional<std::string> Query(std::string_view name) const;
  // A header's value (case-insensitive name), if present.
  std::optional<std::string> Header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// Called exactly once per request, from any thread.
using Respond = std::function<void(Response)>;

}  // namespace backstop::http
