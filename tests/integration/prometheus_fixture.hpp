#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/sinks/base_sink.h>

#include "backstop/http/router.hpp"
#include "backstop/http/server.hpp"
#include "process.hpp"
#include "test_support.hpp"

namespace backstop::testing {

// A port on 127.0.0.1 that was free a moment ago.
std::uint16_t FreeLoopbackPort();

// A listening socket on 127.0.0.1 that never accepts: connections complete
// (the kernel's backlog) and requests are never answered, like a hung server.
class BlackHole {
 public:
  BlackHole();
  ~BlackHole();
  BlackHole(const BlackHole&) = delete;
  BlackHole& operator=(const BlackHole&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A tiny exporter on 127.0.0.1 serving /metrics in the Prometheus text
// format: request counters of service `checkout` in namespace `prod`, per
// metric family (e.g. http_requests_total, lb_requests_total), version and
// code (200, 500). At every scrape each counter advances by the time since
// the last scrape at 100 requests/s, split by the error ratio the test set,
// so rate() of the 500s over all shows that ratio.
class MetricsExporter {
 public:
  MetricsExporter();
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  std::uint16_t port() const { return port_; }
  void SetErrorRatio(const std::string& family, const std::string& version, double ratio);
  // Stops serving: every later scrape fails.
  void Stop();
  int scrapes() const;

 private:
  struct Counters {
    double ok = 0.0;
    double errors = 0.0;
    double ratio = 0.0;
  };
  class NoAuth : public http::Authenticator {
   public:
    std::optional<Outcome> Cached(const std::string&, http::TokenCheck) override { return Outcome(std::optional<Principal>{}); }
    void Lookup(const std::string&, http::TokenCheck, std::function<void(Outcome)> done) override {
      done(std::optional<Principal>{});
    }
  };
  std::string Render();

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Counters> counters_;  // (family, version)
  std::chrono::steady_clock::time_point last_scrape_;
  int scrapes_ = 0;
  NoAuth auth_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
};

// A real Prometheus (/usr/bin/prometheus, from the Debian package the
// scripts install) on a free loopback port, scraping one target every
// second, with its own storage in a temp folder. Killed however the test
// ends (ChildProcess kills on destruction); Kill and Restart play the fault.
class PrometheusServer {
 public:
  explicit PrometheusServer(std::uint16_t target_port);
  ~PrometheusServer();

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // SIGKILL, as a crash would.
  void Kill();
  // Starts again on the same port and storage; waits until it is ready.
  void Restart();
  // Waits (bounded) until an instant query of `query` returns a non-empty vector.
  bool AwaitResult(const std::string& query, std::chrono::milliseconds limit) const;

 private:
  void Launch();

  ThresholdDir dir_;  // a scratch folder: config, storage and log
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// Collects every log line the process writes while it is installed on the
// default spdlog logger (install before the server starts, remove after it
// stopped: the sink list itself is not thread-safe).
class LogCapture final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> Lines();
  // How many lines contain `text`.
  int Count(const std::string& text);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  std::vector<std::string> lines_;  // guarded by base_sink::mutex_
};

}  // namespace backstop::testing
