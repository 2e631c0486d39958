#include "backstop/config/glob.hpp"

#include <cstddef>

namespace backstop::config {

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Greedy matching that remembers the most recent `*`: on a mismatch the
  // star absorbs one more character and matching resumes after it. Earlier
  // stars never need revisiting, so this runs in O(pattern * text) worst
  // case without recursion.
  constexpr std::size_t kNoStar = std::string_view::npos;
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = kNoStar;
  std::size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (star != kNoStar) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace backstop::config
