#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace backstop {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::microseconds>;

// "2026-11-22T10:00:00.123Z": UTC, millisecond precision, as every answer uses.
std::string FormatRfc3339(TimePoint t);

// Accepts RFC 3339 with "Z" or a numeric offset ("+02:00") and any number of
// fractional digits (truncated to microseconds). nullopt when malformed.
std::optional<TimePoint> ParseRfc3339(std::string_view text);

inline TimePoint NowMicros() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
}

}  // namespace backstop
