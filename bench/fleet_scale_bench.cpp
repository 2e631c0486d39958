// Fleet scale: 10,000 active releases x 5 signals x 2 sources receiving
// telemetry (canary and baseline: 200,000 series). Reports the evaluator's
// CPU per tick (ms, and % of one core at a 1 s tick), memory per series,
// and the p99 from a breaching batch to its decision's commit while the
// fleet keeps receiving telemetry and ticking every second. In-process:
// the real App, releases registered through the workflow in one
// transaction, telemetry through POST /v1/telemetry. Bounded in count and time.
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/common/sha256.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/evaluator/evaluator.hpp"
#include "backstop/workflow/release_registration.hpp"
#include "bench_support.hpp"

namespace {

using namespace backstop;
using Steady = std::chrono::steady_clock;

constexpr int kReleases = 10000;
constexpr int kSignals = 5;
constexpr int kSources = 2;
constexpr int kSamplesPerSeries = 10;
constexpr int kSeriesPerBatch = 100;  // x kSamplesPerSeries = 1000 samples a batch
// Paced one a second for longer than the evaluator's 10 s safety net, so
// the figure includes the ticks where quiet releases are evaluated in full
// again.
constexpr int kTicks = 15;
constexpr int kBreaches = 100;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double RssBytes() {
  long pages = 0, resident = 0;
  std::ifstream("/proc/self/statm") >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

class FleetThresholds {
 public:
  FleetThresholds() : path_((std::filesystem::temp_directory_path() / ("backstop-fleet-" + RandomHex(6))).string()) {
    std::filesystem::create_directories(path_);
    std::ofstream out(std::filesystem::path(path_) / "fleet.yaml");
    out << "release_class: fleet\nversion: 1\nreversibility: reversible_with_state\nautomation: auto\n"
           "budget:\n  max_auto_rollbacks: 1000\n  per: 1h\n"
           "evaluation:\n  window: 5m\n  min_samples: 5\n  breach_for: 0s\n  duration: 1h\n  max_staleness: 10m\n"
           "signals:\n";
    for (int s = 0; s < kSignals; ++s) out << "  - name: sig" << s << "\n    max: 0.05\n";
  }
  ~FleetThresholds() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Series number n -> (release, signal, source, cohort).
std::string SeriesSamples(int n, double value) {
  const int release = n % kReleases;
  const int rest = n / kReleases;
  const int signal = rest % kSignals;
  const int source = (rest / kSignals) % kSources;
  const int cohort = rest / (kSignals * kSources);  // 0 canary, 1 baseline
  const std::string one = R"({"service":"svc-)" + std::to_string(release) + R"(","environment":"prod","version":")" +
                          (cohort == 0 ? "v2" : "v1") + R"(","signal":"sig)" + std::to_string(signal) +
                          R"(","source":"src)" + std::to_string(source) + R"(","value":)" + std::to_string(value) + "}";
  std::string out;
  for (int i = 0; i < kSamplesPerSeries; ++i) {
    if (i) out += ",";
    out += one;
  }
  return out;
}

std::string FleetBatch(int batch, double value) {
  std::string body = R"({"samples":[)";
  for (int k = 0; k < kSeriesPerBatch; ++k) {
    if (k) body += ",";
    body += SeriesSamples(batch * kSeriesPerBatch + k, value);
  }
  return body + "]}";
}

}  // namespace

int main() {
  FleetThresholds thresholds;
  // Ticks are driven by this program (one a second in the load phase), so
  // each can be measured alone.
  bench::BenchServer server(thresholds.path(), [](config::Config& c) { c.evaluation_tick = Millis(600000); });
  const std::string token = server.Token("bench-pipe", Role::kTelemetry);
  const std::string deployer = server.Token("bench-ci", Role::kDeployer);
  {
    pqxx::connection conn(server.owner_url());
    pqxx::work tx(conn);
    for (int i = 0; i < kReleases; ++i) {
      store::NewRelease r;
      r.id = "fleet-" + std::to_string(i);
      r.service = "svc-" + std::to_string(i);
      r.environment = "prod";
      r.version = "v2";
      r.previous_version = "v1";
      r.release_class = "fleet";
      r.traffic_percent = 5;
      r.request_body = "{}";
      auto out = workflow::RegisterRelease(tx, config::Notifiers{}, r, "bench-ci");
      if (!out) {
        std::fprintf(stderr, "registering %s: %s\n", r.id.c_str(), out.error().message.c_str());
        return 1;
      }
    }
    tx.commit();
  }
  auto& evaluator = server.app().evaluator();
  evaluator.TickNow();  // loads the 10,000 releases

  // Telemetry for every series.
  const int series = kReleases * kSignals * kSources * 2;
  const int batches = series / kSeriesPerBatch;
  const double rss_before = RssBytes();
  const auto load = bench::RunLoad(
      server.port(), 8, std::chrono::seconds(120), batches / 8,
      [&](int c, int i) { return bench::RawPost("/v1/telemetry", token, FleetBatch(i * 8 + c, 0.001)); }, 202);
  if (load.errors != 0) {
    std::fprintf(stderr, "fleet: %ld telemetry batches failed\n", load.errors);
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // debounced evaluations settle
  const double rss_after = RssBytes();
  std::printf("fleet: %d releases x %d signals x %d sources: %d series, %d samples each, loaded in %.1f s\n",
              kReleases, kSignals, kSources, series, kSamplesPerSeries, load.seconds);

  // Ticks alone, one a second: CPU of this process (evaluator thread and
  // the pool's) during each tick. The mean is the share of a core.
  std::vector<double> cpu_ms, wall_ms;
  for (int t = 0; t < kTicks; ++t) {
    const auto next = Steady::now() + std::chrono::seconds(1);
    const double c0 = CpuSeconds();
    const auto w0 = Steady::now();
    evaluator.TickNow();
    wall_ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - w0).count());
    cpu_ms.push_back((CpuSeconds() - c0) * 1000);
    std::this_thread::sleep_until(next);
  }
  double tick_cpu = 0;
  for (const double c : cpu_ms) tick_cpu += c / kTicks;
  const double per_series = (rss_after - rss_before) / series;
  std::printf("fleet: evaluator tick over %d releases: CPU %.1f ms (mean of %d ticks a second apart; median %.1f ms, "
              "max %.1f ms; wall median %.1f ms) = %.1f%% of one core at a 1 s tick\n",
              kReleases, tick_cpu, kTicks, bench::Median(cpu_ms), bench::Percentile(cpu_ms, 100),
              bench::Median(wall_ms), tick_cpu / 10.0);
  std::printf("fleet: memory %.0f bytes per series (RSS %.1f MB -> %.1f MB, %d samples each)\n", per_series,
              rss_before / 1e6, rss_after / 1e6, kSamplesPerSeries);

  // Decisions under load: the fleet keeps sending telemetry and ticking
  // every second while releases breach one at a time.
  std::atomic<bool> running{true};
  std::thread ticker([&] {
    while (running) {
      const auto next = Steady::now() + std::chrono::seconds(1);
      evaluator.TickNow();
      while (running && Steady::now() < next) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  std::thread feeder([&] {
    http::HttpClient client("127.0.0.1", server.port());
    for (int i = 0; running && i < 100000; ++i) {
      (void)client.Send({"POST", "/v1/telemetry",
                         {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                         FleetBatch(i % batches, 0.001)});
    }
  });
  pqxx::connection db(server.owner_url());
  http::HttpClient client("127.0.0.1", server.port());
  std::vector<double> latencies_ms;
  int missing = 0;
  for (int b = 0; b < kBreaches; ++b) {
    const int release = b * (kReleases / kBreaches);
    std::string body = R"({"samples":[)";
    for (int s = 0; s < kSources; ++s) {
      for (int i = 0; i < kSamplesPerSeries * 2; ++i) {
        if (s || i) body += ",";
        body += R"({"service":"svc-)" + std::to_string(release) +
                R"(","environment":"prod","version":"v2","signal":"sig0","source":"src)" + std::to_string(s) +
                R"(","value":0.9})";
      }
    }
    body += "]}";
    auto r = client.Send({"POST", "/v1/telemetry",
                          {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}, body});
    const auto responded = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    if (!r || r->status != 202) return 1;
    const auto deadline = Steady::now() + std::chrono::seconds(5);
    bool found = false;
    while (!found && Steady::now() < deadline) {
      pqxx::read_transaction tx(db);
      auto row = tx.exec_params(
          "SELECT (extract(epoch FROM at) * 1000000)::bigint FROM audit_log "
          "WHERE release_id = $1 AND kind LIKE 'decision.%' LIMIT 1",
          "fleet-" + std::to_string(release));
      if (!row.empty()) {
        latencies_ms.push_back(static_cast<double>(row[0][0].as<long long>() -
                                                   responded.time_since_epoch().count()) / 1000.0);
        found = true;
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    }
    if (!found) ++missing;
  }
  running = false;
  ticker.join();
  feeder.join();
  std::printf("fleet: breach-to-decision-commit under that load (1 s ticks, telemetry streaming): %zu decisions, "
              "%d missing, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
              latencies_ms.size(), missing, bench::Percentile(latencies_ms, 50), bench::Percentile(latencies_ms, 99),
              bench::Percentile(latencies_ms, 100));
  char v[96];
  std::snprintf(v, sizeof v, "%.1f ms CPU/tick = %.1f%% of a core", tick_cpu, tick_cpu / 10.0);
  bench::Summary("fleet 10k releases x 5 signals x 2 sources: evaluator at a 1 s tick", v, "", "", "<= 10% of a core");
  std::snprintf(v, sizeof v, "%.0f bytes/series (%d samples each)", per_series, kSamplesPerSeries);
  bench::Summary("fleet: memory per series", v, "", "", "");
  std::snprintf(v, sizeof v, "p99 %.1f ms (p50 %.1f ms)", bench::Percentile(latencies_ms, 99),
                bench::Percentile(latencies_ms, 50));
  bench::Summary("fleet: breach-to-decision under load", v, "", "", "");
  return missing == 0 ? 0 : 1;
}
