#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <boost/json.hpp>

namespace backstop::integrations::testing {

// A payload fixture of tests/integration/fixtures, copied by hand from the
// upstream formats; the integration tests post the same files.
inline std::string Fixture(const std::string& relative) {
  const std::string path = std::string(BACKSTOP_SOURCE_DIR) + "/tests/integration/fixtures/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline boost::json::object FixtureObject(const std::string& relative) {
  return boost::json::parse(Fixture(relative)).as_object();
}

}  // namespace backstop::integrations::testing
