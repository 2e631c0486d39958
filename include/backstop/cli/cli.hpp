#pragma once

#include <string>
#include <vector>

namespace backstop::cli {

// Runs the `backstop` command line; returns the process exit code.
// Commands: serve, migrate, token create|revoke (DESIGN "Command line").
int Run(const std::vector<std::string>& args);

}  // namespace backstop::cli
