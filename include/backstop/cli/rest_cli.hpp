#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "backstop/config/config_loader.hpp"

namespace backstop::cli {

// `backstop queue|releases|mode|audit ...`: the REST API for an SRE on call
// (INTEGRATIONS.md §6). Talks to BACKSTOP_URL (or --url; default
// http://127.0.0.1:8080) with BACKSTOP_TOKEN (or --token-file). Aligned
// tables by default, `--output json` prints the API's answer as is. Exit
// codes: 0 ok, 1 refused (4xx: the error code and message on stderr),
// 2 usage, 3 unreachable or 5xx.
bool IsRestCommand(const std::string& command);
int RunRestCommand(const std::vector<std::string>& args, const config::EnvLookup& env, std::ostream& out,
                   std::ostream& err);

}  // namespace backstop::cli
