#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "backstop/decision/reason_code.hpp"

// The web page explains reason codes with its own table (ui/words.js,
// REASONS); it must say what Explain() says, for every code, so the CLI and
// the page never disagree.

namespace backstop::decision {
namespace {

std::map<std::string, std::string> PageReasons() {
  std::ifstream in(std::string(BACKSTOP_SOURCE_DIR) + "/ui/words.js");
  std::stringstream text;
  text << in.rdbuf();
  const std::string js = text.str();
  const auto start = js.find("export const REASONS = {");
  const auto end = js.find("};", start);
  EXPECT_NE(start, std::string::npos) << "ui/words.js has no REASONS table";
  std::map<std::string, std::string> out;
  if (start == std::string::npos) return out;
  const std::string table = js.substr(start, end - start);
  static const std::regex kEntry(R"re("([a-z_.]+)": "([^"\\]*)",)re");
  for (std::sregex_iterator it(table.begin(), table.end(), kEntry), last; it != last; ++it) {
    out[(*it)[1]] = (*it)[2];
  }
  return out;
}

TEST(ReasonCodeUiTest, ThePageExplainsEveryCodeWithTheSameSentence) {
  const auto page = PageReasons();
  int codes = 0;
  for (int i = 0; i <= static_cast<int>(ReasonCode::kRollbackIneffective); ++i, ++codes) {
    const auto code = static_cast<ReasonCode>(i);
    const std::string wire(ToString(code));
    const auto it = page.find(wire);
    ASSERT_NE(it, page.end()) << wire << " is missing from REASONS in ui/words.js";
    EXPECT_EQ(it->second, Explain(code)) << wire;
  }
  EXPECT_EQ(page.size(), static_cast<std::size_t>(codes)) << "ui/words.js explains a code the server does not have";
}

}  // namespace
}  // namespace backstop::decision
