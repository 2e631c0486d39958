#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace backstop {

using Millis = std::chrono::milliseconds;

// Parses durations written as an integer and a unit: "500ms", "30s", "5m", "2h".
// Returns nullopt for anything else (no sign, no spaces, no fractions).
std::optional<Millis> ParseDuration(std::string_view text);

// Formats a duration with the largest unit that divides it exactly.
std::string FormatDuration(Millis d);

}  // namespace backstop
