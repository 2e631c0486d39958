#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <cstdint>
#include <functional>
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
  // The URL the server serves with (the serving role under scripts/bench).
  const std::string& database_url() const { return url_; }
  // The same database as its owner: for the benchmark's own tables and reads.
  const std::string& owner_url() const { return owner_url_; }
  std::string Token(const std::string& name, Role role);
  app::App& app() { return *app_; }

 private:
  std::string base_url_;
  std::string name_;
  std::string url_;
  std::string owner_url_;
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

// What a load run did: answers with the expected status, everything else,
// wall time, and each request's latency.
struct LoadResult {
  long ok = 0;
  long errors = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
};

// Builds request `i` of connection `conn` as raw HTTP/1.1 text.
using RequestMaker = std::function<std::string(int conn, int i)>;

// A closed-loop load generator on loopback: `connections` keep-alive
// connections, one thread each, each sending its next request when the
// previous answer is in, for `duration` or `max_per_connection` requests,
// whichever comes first (bounded in count and time). Plain sockets, so the
// generator costs little next to the servers it measures.
LoadResult RunLoad(std::uint16_t port, int connections, std::chrono::milliseconds duration,
                   int max_per_connection, const RequestMaker& make, int expect_status);

// A raw HTTP/1.1 POST with a JSON body and an optional bearer token.
std::string RawPost(const std::string& target, const std::string& token, const std::string& body);

// The median of a few runs' figures.
double Median(std::vector<double> values);

// One row of the summary table scripts/bench prints at the end, written as
// "SUMMARY|figure|value|baseline|ratio|target" (empty cells allowed).
void Summary(const std::string& figure, const std::string& value, const std::string& baseline,
             const std::string& ratio, const std::string& target);

// Body of a telemetry batch of `n` samples.
std::string TelemetryBatch(const std::string& service, const std::string& version, double value, int n);

}  // namespace backstop::bench
