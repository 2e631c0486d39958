#pragma once

#include <string>
#include <string_view>

namespace backstop {

// Whether `s` is well-formed UTF-8: no stray continuation bytes, no
// truncated or overlong sequences, no surrogates, nothing above U+10FFFF.
[[nodiscard]] bool IsValidUtf8(std::string_view s);

// `s` with every ill-formed sequence replaced by U+FFFD, one replacement per
// maximal subpart (the Unicode recommendation, which WHATWG decoders follow):
// "no release \xff\xfe" becomes "no release \uFFFD\uFFFD". Well-formed text
// comes back unchanged. Pure.
[[nodiscard]] std::string ToValidUtf8(std::string_view s);

}  // namespace backstop
