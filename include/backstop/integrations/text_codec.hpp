#pragma once

#include <string>
#include <string_view>

// Small text decodings the intakes share. Pure.
namespace backstop::integrations {

// The media type of a Content-Type value, lower-cased, without parameters
// or spaces: "Application/JSON; charset=utf-8" → "application/json".
[[nodiscard]] std::string MediaType(std::string_view content_type);

// PercentDecode is common/percent_decode.hpp, shared with the router.

}  // namespace backstop::integrations
