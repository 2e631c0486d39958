#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backstop/common/result.hpp"
#include "backstop/config/config.hpp"

namespace backstop::store {
class DbPool;
}
namespace backstop::metrics {
class Metrics;
}
namespace backstop::evaluator {
class Evaluator;
}
namespace backstop::pull {
class TelemetryPuller;
}

namespace backstop::app {

// The running controller: database pool, metrics, router with every route,
// HTTP server and background loops. `backstop serve` runs one; integration
// tests run one in-process on port 0.
//
// Start and Stop are called from one thread. Stop is graceful: readiness
// fails, the server drains, background loops end, then the pool closes.
class App {
 public:
  explicit App(config::Config config);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  Status Start();
  void Stop();

  std::uint16_t port() const;
  store::DbPool& pool();
  metrics::Metrics& metrics();
  const config::Config& config() const;
  // Tests drive evaluation ticks through it instead of sleeping.
  evaluator::Evaluator& evaluator();
  // The telemetry puller (null before Start); tests and benchmarks pull through it.
  pull::TelemetryPuller* puller();
  // (method, pattern) of every route served.
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backstop::app
