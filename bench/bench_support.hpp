#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backstop/app/app.hpp"
#include "backstop/common/role.hpp"
#include "backstop/config/config.hpp"
#include "backstop/http/client.hpp"

namespace backstop::bench {

// A migrated database of its own (dropped at the end) and an in-process
// Backstop on 127.0.0.1:0, from BACKSTOP_BENCH_DATABASE_URL (scripts/bench).
class BenchServer {
 public:
  // `thresholds_dir` empty = the shipped thresholds.
  explicit BenchServer(const std::string& thresholds_dir = "",
                       void (*tune)(config::Config&) = nullptr);
  ~BenchServer();

  std::uint16_t port() const { return app_->port(); }
  const std::string& database_url() const { return url_; }
  std::string Token(const std::string& name, Role role);
  app::App& app() { return *app_; }

 private:
  std::string base_url_;
  std::string name_;
  std::string url_;
  std::unique_ptr<app::App> app_;
};

// A scratch thresholds folder with one class, `bench`, that decides at once.
class BenchThresholds {
 public:
  BenchThresholds();
  ~BenchThresholds();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

double Percentile(std::vector<double> values, double p);

// Registers release `id` of `service` (class `bench`, v1 → v2), sends four
// healthy samples, then the breaching batch that completes the evidence.
// Returns when the breaching batch was answered (system clock), or nullopt.
std::optional<std::chrono::system_clock::time_point> DeployAndBreach(http::HttpClient& client,
                                                                     const std::string& token,
                                                                     const std::string& id,
                                                                     const std::string& service);

// Body of a telemetry batch of `n` samples.
std::string TelemetryBatch(const std::string& service, const std::string& version, double value, int n);

}  // namespace backstop::bench
