#pragma once

#include <memory>
#include <string>

#include "backstop/actions/action_request.hpp"
#include "backstop/common/result.hpp"
#include "backstop/config/config.hpp"
#include "backstop/config/config_loader.hpp"
#include "backstop/notify/messages.hpp"

namespace backstop::notify {

// Delivers one attempt of one notification to one notifier over the shared
// HTTP client (http::HttpClient, TLS verified). Blocks at most the
// notifier's timeout. Thread-safe. Holds the notifier's secret (routing
// key, Slack URL, signing secret) and never puts it in an error or a log.
class Sender {
 public:
  virtual ~Sender() = default;
  virtual actions::ExecutionResult Send(const Notice& notice) = 0;
};

// Builds the sender a notifier entry describes, reading its secret from
// `env`. An unset secret variable, a URL that is not http(s):// or a
// `ca_file` that cannot be loaded is a start-up error naming the entry
// (never the secret's value). A plain http:// URL to a host that is not
// loopback is logged as a warning.
Result<std::shared_ptr<Sender>> MakeSender(const config::NotifierConfig& notifier, int index,
                                           const std::string& ui_url, const config::EnvLookup& env);

}  // namespace backstop::notify
