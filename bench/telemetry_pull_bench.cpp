// Pull cost (issue 12): 1,000 active releases of a class with 5 signals,
// each queried at one Prometheus-compatible source. Prints the queries per
// interval (one per signal, whatever the number of releases) and the CPU one
// round of pulls costs: answers of 2,000 series each (every canary and
// baseline) parsed, mapped to releases and appended to the windows.
//
// The source is an in-process stand-in answering each query with a canned
// vector (building the answer is not Backstop's cost, so it is prepared once);
// a real Prometheus answering these queries is measured by the integration
// tests (tests/integration/prometheus_pull_itest.cpp). Bounded in count and time.
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backstop/common/sha256.hpp"
#include "backstop/evaluator/evaluator.hpp"
#include "backstop/http/router.hpp"
#include "backstop/http/server.hpp"
#include "backstop/pull/telemetry_puller.hpp"
#include "bench_support.hpp"

namespace {

using namespace backstop;

constexpr int kReleases = 1000;
constexpr int kSignals = 5;
constexpr int kRounds = 20;

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Answers POST /api/v1/query with the canned vector of the signal the query names.
class FakePrometheus : public http::Authenticator {
 public:
  FakePrometheus() : router_(*this) {
    for (int s = 0; s < kSignals; ++s) {
      std::string body = R"({"status":"success","data":{"resultType":"vector","result":[)";
      for (int i = 0; i < kReleases; ++i) {
        for (const char* version : {"v1", "v2"}) {
          if (i > 0 || std::string(version) == "v2") body += ",";
          body += R"({"metric":{"service":"svc-)" + std::to_string(i) +
                  R"(","namespace":"prod","version":")" + version + R"("},"value":[1767261600.000,"0.0123"]})";
        }
      }
      body += "]}}";
      answers_["sig_" + std::to_string(s)] = body;
    }
    router_.Add({"POST", "/api/v1/query", {}, http::BodyPolicy::kNone,
                 [this](const http::RequestContext& rc, http::Respond respond) {
                   http::Response r;
                   r.status = 400;
                   r.body = R"({"status":"error","errorType":"bad_data","error":"unknown"})";
                   for (const auto& [signal, body] : answers_) {
                     if (rc.request.body.find(signal) != std::string::npos) {
                       r.status = 200;
                       r.body = body;
                     }
                   }
                   respond(std::move(r));
                 }});
    http::ServerOptions o;
    o.port = 0;
    o.threads = 1;
    o.body_limit = 1 << 20;
    server_ = std::make_unique<http::Server>(o, router_, nullptr);
    if (!server_->Start().ok()) std::abort();
  }
  ~FakePrometheus() override { server_->Shutdown(); }
  std::optional<Outcome> Cached(const std::string&, http::TokenCheck) override { return Outcome(std::optional<Principal>{}); }
  void Lookup(const std::string&, http::TokenCheck, std::function<void(Outcome)> done) override {
    done(std::optional<Principal>{});
  }
  std::uint16_t port() const { return server_->port(); }
  std::size_t answer_bytes() const { return answers_.begin()->second.size(); }

 private:
  std::map<std::string, std::string> answers_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

FakePrometheus* g_prometheus = nullptr;

// A class with five signals, each queried at source `prom`; values stay healthy.
class PullThresholds {
 public:
  PullThresholds() : path_(std::filesystem::temp_directory_path() / ("backstop-pullbench-" + RandomHex(6))) {
    std::filesystem::create_directories(path_);
    std::string yaml =
        "release_class: pullbench\nversion: 1\nreversibility: reversible_with_state\nautomation: auto\n"
        "evaluation:\n  window: 5m\n  min_samples: 5\n  breach_for: 0s\n  duration: 1h\nsignals:\n";
    for (int s = 0; s < kSignals; ++s) {
      yaml += "  - name: sig_" + std::to_string(s) + "\n    max: 0.05\n    queries:\n      prom: sig_" +
              std::to_string(s) + "\n";
    }
    std::ofstream(path_ / "pullbench.yaml") << yaml;
  }
  ~PullThresholds() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace

int main() {
  FakePrometheus prometheus;
  g_prometheus = &prometheus;
  PullThresholds thresholds;
  bench::BenchServer server(thresholds.path(), [](config::Config& c) {
    config::TelemetrySourceConfig source;
    source.name = "prom";
    source.url = "http://127.0.0.1:" + std::to_string(g_prometheus->port());
    source.interval = std::chrono::hours(24);  // rounds are driven below
    source.timeout = Millis(5000);
    source.labels = config::SourceLabels{"service", "namespace", "version"};
    c.telemetry_sources = {source};
  });
  const std::string deployer = server.Token("bench-ci", Role::kDeployer);
  http::HttpClient client("127.0.0.1", server.port());
  const std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Bearer " + deployer},
                                                                 {"Content-Type", "application/json"}};
  for (int i = 0; i < kReleases; ++i) {
    const std::string n = std::to_string(i);
    auto r = client.Send({"POST", "/v1/deployments", headers,
                          R"({"id":"pull-)" + n + R"(","service":"svc-)" + n +
                              R"(","environment":"prod","version":"v2","previous_version":"v1",)"
                              R"("release_class":"pullbench","traffic_percent":5})"});
    if (!r || r->status != 201) {
      std::fprintf(stderr, "deployment %d failed\n", i);
      return 1;
    }
  }
  server.app().evaluator().TickNow();  // the evaluator holds every release

  pull::TelemetryPuller& puller = *server.app().puller();
  std::vector<double> cpu_ms;
  std::vector<double> wall_ms;
  int queries = 0;
  const double process_cpu_before = ProcessCpuSeconds();
  const auto run_started = std::chrono::steady_clock::now();
  for (int round = 0; round < kRounds; ++round) {
    const auto round_started = std::chrono::steady_clock::now();
    const double cpu_before = ThreadCpuSeconds();
    queries = puller.PullNow();
    cpu_ms.push_back((ThreadCpuSeconds() - cpu_before) * 1000.0);
    wall_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - round_started)
                          .count());
    // One round per second, as with `interval: 1s`; the evaluator works through
    // the 1,000 releases the samples touched in between.
    std::this_thread::sleep_until(round_started + std::chrono::seconds(1));
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_started).count();
  const double process_cpu = ProcessCpuSeconds() - process_cpu_before;

  std::printf("telemetry_pull: %d releases x %d signals, 1 source: %d queries per interval "
              "(answers of %d series, %zu bytes each)\n",
              kReleases, kSignals, queries, 2 * kReleases, prometheus.answer_bytes());
  std::printf("telemetry_pull: puller CPU per round (parse, map, append %d samples): p50 %.1f ms, max %.1f ms; "
              "wall p50 %.1f ms\n",
              kSignals * 2 * kReleases, bench::Percentile(cpu_ms, 50), bench::Percentile(cpu_ms, 100),
              bench::Percentile(wall_ms, 50));
  std::printf("telemetry_pull: whole process at 1 round/s (puller, stand-in source, evaluating 1,000 releases, "
              "ticks): %.1f%% of one core\n",
              100.0 * process_cpu / elapsed);
  return queries == kSignals ? 0 : 1;
}
