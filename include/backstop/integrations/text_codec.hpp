#pragma once

#include <optional>
#include <string>
#include <string_view>

// Small text decodings the intakes share. Pure.
namespace backstop::integrations {

// The media type of a Content-Type value, lower-cased, without parameters
// or spaces: "Application/JSON; charset=utf-8" → "application/json".
[[nodiscard]] std::string MediaType(std::string_view content_type);

// %XX escapes decoded (and '+' as a space when `plus_is_space`, as in
// form bodies); nullopt on a malformed escape.
[[nodiscard]] std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space = false);

}  // namespace backstop::integrations
