#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace backstop {

// %XX escapes decoded (and '+' as a space when `plus_is_space`, as in form
// bodies and query strings); nullopt on a truncated or non-hex escape. Pure.
[[nodiscard]] std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space = false);

}  // namespace backstop
