// Decision latency: from the response to a breaching telemetry batch to the
// commit of the decision (the audit row of the decision, stamped with the
// database's clock_timestamp() inside the deciding transaction), over many
// releases. Bounded in count and time.
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/common/time_format.hpp"
#include "bench_support.hpp"

int main() {
  using namespace backstop;
  constexpr int kReleases = 100;
  constexpr auto kWaitPerRelease = std::chrono::seconds(5);

  bench::BenchThresholds thresholds;
  bench::BenchServer server(thresholds.path(), [](config::Config& c) { c.evaluation_tick = Millis(1000); });
  const std::string deployer = server.Token("bench-ci", Role::kDeployer);
  http::HttpClient client("127.0.0.1", server.port());
  pqxx::connection db(server.owner_url());

  std::vector<double> latencies_ms;
  int missing = 0;
  for (int i = 0; i < kReleases; ++i) {
    const std::string service = "svc-" + std::to_string(i);
    const std::string id = "bench-" + std::to_string(i);
    const auto answered = bench::DeployAndBreach(client, deployer, id, service);
    if (!answered) {
      std::fprintf(stderr, "release %d: deployment or telemetry failed\n", i);
      return 1;
    }
    const TimePoint responded = std::chrono::time_point_cast<std::chrono::microseconds>(*answered);
    const auto deadline = std::chrono::steady_clock::now() + kWaitPerRelease;
    bool found = false;
    while (!found && std::chrono::steady_clock::now() < deadline) {
      pqxx::read_transaction tx(db);
      auto row = tx.exec_params(
          "SELECT (extract(epoch FROM at) * 1000000)::bigint FROM audit_log "
          "WHERE release_id = $1 AND kind LIKE 'decision.%' ORDER BY seq LIMIT 1", id);
      if (!row.empty()) {
        const auto committed = row[0][0].as<long long>();
        latencies_ms.push_back(static_cast<double>(committed - responded.time_since_epoch().count()) / 1000.0);
        found = true;
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    }
    if (!found) ++missing;
  }
  std::printf("decision_latency: %zu decisions over %d releases (%d missing)\n", latencies_ms.size(), kReleases,
              missing);
  std::printf("decision_latency: from the breaching batch's response to the decision's commit: "
              "p50 %.2f ms, p99 %.2f ms, max %.2f ms (negative = committed before the response arrived)\n",
              bench::Percentile(latencies_ms, 50), bench::Percentile(latencies_ms, 99),
              bench::Percentile(latencies_ms, 100));
  char v[96];
  std::snprintf(v, sizeof v, "p99 %.2f ms (p50 %.2f ms)", bench::Percentile(latencies_ms, 99),
                bench::Percentile(latencies_ms, 50));
  bench::Summary("breach-to-decision commit over 100 releases", v, "", "", "");
  return missing == 0 ? 0 : 1;
}
