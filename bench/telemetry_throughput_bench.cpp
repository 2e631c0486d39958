// Telemetry samples per second through POST /v1/telemetry against the bare
// baseline (bench/bare_server: Beast + Boost.JSON parsing the same batch,
// answering 202), measured in the same run: 8 keep-alive connections on
// loopback, batches of 100 and 1000, three alternating rounds of each side,
// medians. Bounded in count and time.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bare_server.hpp"
#include "bench_support.hpp"

namespace {

using namespace backstop;

constexpr int kConnections = 8;
constexpr int kRounds = 3;
constexpr auto kRound = std::chrono::milliseconds(3000);
constexpr int kMaxPerConnection = 200000;

struct Figure {
  double samples_per_s = 0;
  double p99_ms = 0;
};

Figure Measure(std::uint16_t port, const std::string& request, int batch) {
  const auto r = bench::RunLoad(port, kConnections, kRound, kMaxPerConnection,
                                [&](int, int) { return request; }, 202);
  if (r.errors != 0) std::fprintf(stderr, "telemetry_throughput: %ld errors\n", r.errors);
  return Figure{static_cast<double>(r.ok) * batch / r.seconds, bench::Percentile(r.latencies_ms, 99)};
}

std::string Fmt(double v, const char* unit = "") {
  char buf[64];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM%s", v / 1e6, unit);
  } else if (v >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.0fk%s", v / 1e3, unit);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f%s", v, unit);
  }
  return buf;
}

}  // namespace

int main() {
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
  bench::BareServer bare;
  const bool only_backstop = std::getenv("BACKSTOP_BENCH_ONLY_BACKSTOP") != nullptr;
  for (const int batch : {100, 1000}) {
    // Healthy values: the release keeps being evaluated and never decides.
    const std::string body = bench::TelemetryBatch("svc", "v2", 0.001, batch);
    const std::string to_backstop = bench::RawPost("/v1/telemetry", token, body);
    const std::string to_bare = bench::RawPost("/v1/telemetry", "", body);
    std::vector<double> ours, base, ours_p99, base_p99;
    for (int round = 0; round < kRounds; ++round) {
      // BACKSTOP_BENCH_ONLY_BACKSTOP=1: skip the baseline (for a profiler attached to this process).
      const Figure b = only_backstop ? Figure{} : Measure(bare.port(), to_bare, batch);
      const Figure o = Measure(server.port(), to_backstop, batch);
      base.push_back(b.samples_per_s);
      base_p99.push_back(b.p99_ms);
      ours.push_back(o.samples_per_s);
      ours_p99.push_back(o.p99_ms);
      std::printf("telemetry_throughput: batch %d round %d: bare %.0f samples/s (p99 %.2f ms), backstop %.0f "
                  "samples/s (p99 %.2f ms)\n",
                  batch, round + 1, b.samples_per_s, b.p99_ms, o.samples_per_s, o.p99_ms);
    }
    const double o = bench::Median(ours), b = bench::Median(base);
    const double ratio = b > 0 ? o / b : 0;
    std::printf("telemetry_throughput: batches of %d, %d keep-alive connections, medians of %d rounds: backstop "
                "%.0f samples/s (p99 %.2f ms), bare server %.0f samples/s (p99 %.2f ms), ratio %.0f%%\n",
                batch, kConnections, kRounds, o, bench::Median(ours_p99), b, bench::Median(base_p99), ratio * 100);
    char r[32];
    std::snprintf(r, sizeof r, "%.0f%%", ratio * 100);
    bench::Summary("telemetry samples/s, batches of " + std::to_string(batch) + ", 8 conns",
                   Fmt(o) + " (p99 " + Fmt(bench::Median(ours_p99), " ms") + ")", Fmt(b) + " (bare server)", r,
                   batch == 100 ? ">= 50%" : ">= 60%");
  }
  return 0;
}
