#include "backstop/http/url.hpp"

#include <utility>

#include "backstop/common/percent_decode.hpp"

namespace backstop::http {

namespace {

// Decodes a path or query component ('+' is a space, as in form-encoded
// query strings) into `out`; false on a malformed escape.
bool DecodeInto(std::string_view in, std::string& out) {
  auto decoded = PercentDecode(in, /*plus_is_space=*/true);
  if (!decoded) return false;
  out = std::move(*decoded);
  return true;
}

}  // namespace

bool ParseTarget(std::string_view target, std::string& path,
                 std::vector<std::pair<std::string, std::string>>& query) {
  const auto q = target.find('?');
  if (!DecodeInto(target.substr(0, q), path)) return false;
  query.clear();
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string key, value;
    if (!DecodeInto(pair.substr(0, eq), key)) return false;
    if (eq != std::string_view::npos && !DecodeInto(pair.substr(eq + 1), value)) return false;
    query.emplace_back(std::move(key), std::move(value));
  }
  return true;
}

}  // namespace backstop::http
