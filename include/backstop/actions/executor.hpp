#pragma once

#include <memory>
#include <string>

#include "backstop/actions/action_request.hpp"
#include "backstop/common/result.hpp"
#include "backstop/config/config.hpp"
#include "backstop/config/config_loader.hpp"

namespace backstop::actions {

// Carries out one attempt of a rollback. Implementations block (they run on
// executor worker threads) and must return within `timeout`. Thread-safe.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string name() const = 0;  // webhook | command | log | gate
  virtual ExecutionResult Execute(const ActionRequest& request) = 0;
};

// Builds the executor a config entry describes. A webhook whose secret
// variable is unset or empty, whose URL is not http(s)://, or whose
// `ca_file` cannot be loaded is a start-up error naming the entry.
Result<std::shared_ptr<Executor>> MakeExecutor(const config::ExecutorConfig& config, int index,
                                               const config::EnvLookup& env);

}  // namespace backstop::actions
