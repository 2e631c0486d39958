#pragma once

#include <set>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace backstop {

// Whether a parsed JSON value holds, anywhere inside it, a number that is
// not finite. Boost.JSON reads a literal beyond the double range (1e309,
// 0.1e99999) as ±infinity, which no JSON writer can give back. Pure.
[[nodiscard]] bool HasNonFiniteNumber(const boost::json::value& v);

// The keys of a JSON object text (`text` must be valid JSON whose top level
// is an object) under whose value lies an integer literal — digits without
// fraction or exponent — that no 64-bit integer holds (below
// -9223372036854775808 or above 18446744073709551615). Boost.JSON turns such
// a literal into a rounded double, so storing the parsed value would change
// it silently; only the text shows it was an integer. Pure.
[[nodiscard]] std::set<std::string> KeysWithOversizedIntegers(std::string_view text);

}  // namespace backstop
