// Deployments per second through POST /v1/deployments against raw
// single-row INSERT transactions on the same PostgreSQL (8 connections,
// autocommit), measured in the same run: three alternating rounds of each,
// medians. Then the audit sealing delay under that load: for every entry
// the deployments wrote, sealed_at - at (both the database's clock; `at` is
// taken at the INSERT, so this includes the rest of the business
// transaction and its commit). Bounded in count and time.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "bench_support.hpp"

namespace {

using namespace backstop;
using Clock = std::chrono::steady_clock;

constexpr int kConnections = 8;
constexpr int kRounds = 3;
constexpr auto kRound = std::chrono::milliseconds(3000);
constexpr int kMaxPerConnection = 100000;

// Single-row INSERT transactions on `connections` connections for `duration`.
double RawInsertsPerSecond(const std::string& url) {
  std::atomic<long> done{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < kConnections; ++c) {
    threads.emplace_back([&, c] {
      pqxx::connection conn(url);
      conn.prepare("raw_insert", "INSERT INTO raw_insert_bench (conn, body) VALUES ($1, $2)");
      const std::string body = R"({"service":"svc","environment":"prod","version":"v2"})";
      for (int i = 0; i < kMaxPerConnection && Clock::now() - start < kRound; ++i) {
        pqxx::work tx(conn);
        tx.exec_prepared0("raw_insert", c, body);
        tx.commit();
        ++done;
      }
    });
  }
  for (auto& t : threads) t.join();
  return static_cast<double>(done.load()) / std::chrono::duration<double>(Clock::now() - start).count();
}

bool HasSealedAt(pqxx::connection& conn) {
  pqxx::read_transaction tx(conn);
  return !tx.exec("SELECT 1 FROM information_schema.columns WHERE table_name = 'audit_log' AND column_name = 'sealed_at'")
              .empty();
}

}  // namespace

int main() {
  bench::BenchThresholds thresholds;
  bench::BenchServer server(thresholds.path());
  const std::string deployer = server.Token("bench-ci", Role::kDeployer);
  pqxx::connection db(server.owner_url());
  {
    pqxx::work tx(db);
    tx.exec0("CREATE TABLE raw_insert_bench (id bigserial PRIMARY KEY, conn int NOT NULL, body text NOT NULL)");
    const auto settings = tx.exec1("SELECT current_setting('fsync'), current_setting('synchronous_commit')");
    std::printf("deployment_throughput: PostgreSQL fsync=%s synchronous_commit=%s\n", settings[0].c_str(),
                settings[1].c_str());
    tx.commit();
  }
  std::vector<double> ours, base, ours_p99;
  for (int round = 0; round < kRounds; ++round) {
    const double raw = RawInsertsPerSecond(server.owner_url());
    const auto r = bench::RunLoad(
        server.port(), kConnections, kRound, kMaxPerConnection,
        [&](int c, int i) {
          const std::string n = std::to_string(round) + "-" + std::to_string(c) + "-" + std::to_string(i);
          return bench::RawPost("/v1/deployments", deployer,
                                R"({"id":"d-)" + n + R"(","service":"svc-)" + n +
                                    R"(","environment":"prod","version":"v2","previous_version":"v1","release_class":"bench","traffic_percent":5})");
        },
        201);
    const double per_s = static_cast<double>(r.ok) / r.seconds;
    base.push_back(raw);
    ours.push_back(per_s);
    ours_p99.push_back(bench::Percentile(r.latencies_ms, 99));
    std::printf("deployment_throughput: round %d: raw INSERT %.0f tx/s, deployments %.0f/s (p99 %.1f ms, %ld errors)\n",
                round + 1, raw, per_s, ours_p99.back(), r.errors);
  }
  const double o = bench::Median(ours), b = bench::Median(base);
  const double ratio = b > 0 ? o / b : 0;
  std::printf("deployment_throughput: %d connections, medians of %d rounds: %.0f deployments/s (p99 %.1f ms), raw "
              "single-row INSERT transactions %.0f/s, ratio %.1f%%\n",
              kConnections, kRounds, o, bench::Median(ours_p99), b, ratio * 100);
  char v[64], bl[64], rt[32];
  std::snprintf(v, sizeof v, "%.0f/s (p99 %.1f ms)", o, bench::Median(ours_p99));
  std::snprintf(bl, sizeof bl, "%.0f/s (raw INSERT)", b);
  std::snprintf(rt, sizeof rt, "%.1f%%", ratio * 100);
  bench::Summary("deployments/s, 8 conns", v, bl, rt, ">= 25%");

  if (!HasSealedAt(db)) {
    std::printf("audit_sealing: entries are chained at commit (no sealer in this build)\n");
    bench::Summary("audit sealing delay p99 under deployment load", "n/a (chained at commit)", "", "", "<= 100 ms");
    return 0;
  }
  // Every entry the load wrote is sealed within moments; wait (bounded) for the last.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    pqxx::read_transaction tx(db);
    if (tx.exec1("SELECT count(*) FROM audit_log WHERE seq IS NULL")[0].as<long>() == 0) break;
    if (Clock::now() > deadline) {
      std::fprintf(stderr, "audit_sealing: entries still unsealed after 10 s\n");
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pqxx::read_transaction tx(db);
  const auto row = tx.exec1(
      "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY d), percentile_cont(0.99) WITHIN GROUP (ORDER BY d), "
      "max(d) FROM (SELECT extract(epoch FROM sealed_at - at) * 1000 AS d FROM audit_log "
      "WHERE kind = 'release.registered') AS delays");
  std::printf("audit_sealing: %ld entries written under the deployment load, sealed after their INSERT: p50 %.1f ms, "
              "p99 %.1f ms, max %.1f ms\n",
              row[0].as<long>(), row[1].as<double>(), row[2].as<double>(), row[3].as<double>());
  char s[64];
  std::snprintf(s, sizeof s, "%.1f ms (p50 %.1f ms)", row[2].as<double>(), row[1].as<double>());
  bench::Summary("audit sealing delay p99 under deployment load", s, "", "", "<= 100 ms");
  return 0;
}
