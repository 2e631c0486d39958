#pragma once

#include <algorithm>
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

// Body of a telemetry batch of `n` samples.
std::string TelemetryBatch(const std::string& service, const std::string& version, double value, int n);

}  // namespace backstop::bench
