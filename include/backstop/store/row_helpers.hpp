#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/common/time_format.hpp"
#include "backstop/decision/reason_code.hpp"

// Column helpers shared by every repository: timestamps travel as epoch
// microseconds (no time zone parsing in C++), optional columns as nullopt,
// JSON arrays of codes and names are encoded here and nowhere else.

// SQL for a timestamptz column as epoch microseconds (a bigint). A macro so
// the result is a string literal that concatenates into constexpr SQL.
#define BACKSTOP_EPOCH_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

namespace backstop::store {

inline TimePoint TimeFromMicros(const pqxx::field& f) {
  return TimePoint(std::chrono::microseconds(f.as<std::int64_t>()));
}

inline std::optional<TimePoint> OptionalTime(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return TimeFromMicros(f);
}

template <typename T>
std::optional<T> OptionalColumn(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

// A text[] literal for `= ANY($n::text[])`. Only for identifiers and wire
// strings (no quotes, commas or braces); the literal travels as a parameter.
std::string TextArrayLiteral(const std::vector<std::string>& items);

// ["signal.breach", ...] <-> reason codes. Unknown codes in stored JSON are
// dropped (we wrote every row, so there are none).
std::string ReasonsToJson(const std::vector<decision::ReasonCode>& reasons);
std::vector<decision::ReasonCode> ReasonsFromJson(const std::string& json);

// ["alice", "bob"] <-> names.
std::string StringsToJson(const std::vector<std::string>& items);
std::vector<std::string> StringsFromJson(const std::string& json);

}  // namespace backstop::store
