#include "backstop/integrations/text_codec.hpp"

#include <cctype>

namespace backstop::integrations {

std::string MediaType(std::string_view content_type) {
  std::string out;
  for (const char c : content_type.substr(0, content_type.find(';'))) {
    if (c != ' ' && c != '\t') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

}  // namespace backstop::integrations
