#include "backstop/common/json_numbers.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>

#include <boost/json/parse.hpp>

namespace backstop {

bool HasNonFiniteNumber(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_: return !std::isfinite(v.get_double());
    case boost::json::kind::array:
      for (const auto& e : v.get_array()) {
        if (HasNonFiniteNumber(e)) return true;
      }
      return false;
    case boost::json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (HasNonFiniteNumber(kv.value())) return true;
      }
      return false;
    default: return false;
  }
}

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// An integer literal ("-123", "0") that fits neither int64 nor uint64.
bool IsOversizedInteger(std::string_view literal) {
  if (literal.find_first_of(".eE") != std::string_view::npos) return false;  // a double by its writer's choice
  const char* first = literal.data();
  const char* last = literal.data() + literal.size();
  if (literal.starts_with('-')) {
    std::int64_t v = 0;
    return std::from_chars(first, last, v).ec != std::errc();
  }
  std::uint64_t v = 0;
  return std::from_chars(first, last, v).ec != std::errc();
}

}  // namespace

// A scan of the tokens of valid JSON: strings are skipped whole (escapes
// included), brackets tracked for depth. At depth 1 (inside the top-level
// object) a string followed by ':' is a key; every number met until the next
// key belongs to that key's value, however deep.
std::set<std::string> KeysWithOversizedIntegers(std::string_view text) {
  std::set<std::string> found;
  std::string key;
  int depth = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') {
      const std::size_t start = i++;
      while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
      ++i;  // the closing quote
      if (depth != 1) continue;
      std::size_t next = i;
      while (next < text.size() && IsSpace(text[next])) ++next;
      if (next < text.size() && text[next] == ':') {
        boost::system::error_code ec;
        const boost::json::value decoded = boost::json::parse(text.substr(start, i - start), ec);
        key = !ec && decoded.is_string() ? std::string(decoded.get_string()) : std::string();
      }
    } else if (c == '{' || c == '[') {
      ++depth;
      ++i;
    } else if (c == '}' || c == ']') {
      --depth;
      ++i;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const std::size_t start = i;
      while (i < text.size() && (text[i] == '-' || text[i] == '+' || text[i] == '.' || text[i] == 'e' ||
                                 text[i] == 'E' || (text[i] >= '0' && text[i] <= '9'))) {
        ++i;
      }
      if (depth >= 1 && IsOversizedInteger(text.substr(start, i - start))) found.insert(key);
    } else {
      ++i;
    }
  }
  return found;
}

}  // namespace backstop
