#pragma once

#include <string>

#include "backstop/config/config.hpp"

namespace backstop::config {

// The first executor whose `match` glob matches the service, or nullptr.
// Executors come from the server's config only: a deploy event can never
// choose where a rollback is sent.
const ExecutorConfig* MatchExecutor(const Config& config, const std::string& service);

// The type of the matching executor ("webhook", "command", "log", "gate"), or "none".
std::string ExecutorName(const Config& config, const std::string& service);

}  // namespace backstop::config
