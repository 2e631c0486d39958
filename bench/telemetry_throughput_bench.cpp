// Telemetry samples per second through the real HTTP endpoint: batches of
// 500 samples, keep-alive connections, loopback. Bounded in count and time.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "bench_support.hpp"

int main() {
  using namespace backstop;
  using Clock = std::chrono::steady_clock;
  constexpr int kBatch = 500;
  constexpr int kClients = 2;
  constexpr auto kDuration = std::chrono::seconds(8);
  constexpr int kMaxBatchesPerClient = 20000;

  bench::BenchThresholds thresholds;
  bench::BenchServer server(thresholds.path());
  const std::string token = server.Token("bench-pipe", Role::kTelemetry);
  const std::string deployer = server.Token("bench-ci", Role::kDeployer);
  // A release under evaluation, so the batches also trigger evaluations.
  {
    http::HttpClient c("127.0.0.1", server.port());
    auto r = c.Send({"POST", "/v1/deployments",
                     {{"Authorization", "Bearer " + deployer}, {"Content-Type", "application/json"}},
                     R"({"id":"bench-rel","service":"svc","environment":"prod","version":"v2","previous_version":"v1","release_class":"bench","traffic_percent":5})"});
    if (!r || r->status != 201) {
      std::fprintf(stderr, "deployment failed\n");
      return 1;
    }
  }
  // Healthy values: the release keeps being evaluated and never decides.
  const std::string body = bench::TelemetryBatch("svc", "v2", 0.001, kBatch);
  std::atomic<long> samples{0};
  std::atomic<long> errors{0};
  std::vector<double> latencies_ms[kClients];
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      http::HttpClient client("127.0.0.1", server.port());
      http::ClientRequest req{"POST", "/v1/telemetry",
                              {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}, body};
      for (int i = 0; i < kMaxBatchesPerClient && Clock::now() - start < kDuration; ++i) {
        const auto t0 = Clock::now();
        auto r = client.Send(req);
        latencies_ms[t].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (r && r->status == 202) {
          samples += kBatch;
        } else {
          ++errors;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies_ms) all.insert(all.end(), l.begin(), l.end());
  std::printf("telemetry_throughput: %ld samples in %.2f s over %d keep-alive clients, batches of %d\n",
              samples.load(), seconds, kClients, kBatch);
  std::printf("telemetry_throughput: %.0f samples/s, batch latency p50 %.2f ms p99 %.2f ms, errors %ld\n",
              static_cast<double>(samples.load()) / seconds, bench::Percentile(all, 50),
              bench::Percentile(all, 99), errors.load());
  return errors.load() == 0 ? 0 : 1;
}
