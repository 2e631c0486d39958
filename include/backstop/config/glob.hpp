#pragma once

#include <string_view>

namespace backstop::config {

// Matches `text` against a glob `pattern`, as used by executor `match` rules.
// `*` matches any run of characters (including none) and `?` exactly one;
// every other character matches itself. There are no character classes, no
// escapes and no path semantics ('/' is an ordinary character). Byte-wise and
// case-sensitive. Pure; safe to call from any thread.
[[nodiscard]] bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace backstop::config
