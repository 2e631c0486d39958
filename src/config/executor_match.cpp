#include "backstop/config/executor_match.hpp"

#include "backstop/config/glob.hpp"

namespace backstop::config {

const ExecutorConfig* MatchExecutor(const Config& config, const std::string& service) {
  for (const auto& e : config.executors) {
    if (GlobMatch(e.match, service)) return &e;
  }
  return nullptr;
}

std::string ExecutorName(const Config& config, const std::string& service) {
  const auto* e = MatchExecutor(config, service);
  return e != nullptr ? std::string(ToString(e->type)) : "none";
}

}  // namespace backstop::config
