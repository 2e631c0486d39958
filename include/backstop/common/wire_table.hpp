#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace backstop {

// The one table from a closed enum to its wire strings (stored in
// PostgreSQL, sent in answers). Each enum keeps its table beside its
// ToString/Parse functions, the way decision/reason_code.cpp does.
template <typename E, std::size_t N>
using WireTable = std::array<std::pair<E, std::string_view>, N>;

template <typename E, std::size_t N>
constexpr std::string_view WireName(const WireTable<E, N>& table, E value) {
  for (const auto& [e, text] : table) {
    if (e == value) return text;
  }
  return "unknown";
}

template <typename E, std::size_t N>
constexpr std::optional<E> ParseWire(const WireTable<E, N>& table, std::string_view text) {
  for (const auto& [e, t] : table) {
    if (t == text) return e;
  }
  return std::nullopt;
}

// "a, b, c": the wire names in table order, for "must be one of" messages.
template <typename E, std::size_t N>
std::string JoinWireNames(const WireTable<E, N>& table, std::string_view separator = ", ") {
  std::string out;
  for (const auto& [e, text] : table) {
    if (!out.empty()) out += separator;
    out += text;
  }
  return out;
}

}  // namespace backstop
