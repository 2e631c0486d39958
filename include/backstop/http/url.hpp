#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backstop::http {

// Splits "path?a=1&b=x%20y" into the decoded path and the decoded query
// pairs (%XX escapes, '+' as a space), in order (empty pairs are skipped, a key without '=' has an empty
// value). Returns false on malformed percent-encoding.
bool ParseTarget(std::string_view target, std::string& path,
                 std::vector<std::pair<std::string, std::string>>& query);

}  // namespace backstop::http
