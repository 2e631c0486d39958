// Breach-to-webhook latency: from the response to a breaching telemetry
// batch to the rollback webhook arriving at a receiver on loopback, over
// many releases (auto class, webhook executor). Bounded in count and time.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "backstop/http/error_response.hpp"
#include "backstop/http/router.hpp"
#include "backstop/http/server.hpp"
#include "bench_support.hpp"

namespace {

// Receives webhooks and notes when each release's arrived (system clock).
class Receiver : public backstop::http::Authenticator {
 public:
  Receiver() : router_(*this) {
    router_.Add({"POST", "/rollback", {}, backstop::http::BodyPolicy::kRequiredJson,
                 [this](const backstop::http::RequestContext& rc, backstop::http::Respond respond) {
                   const auto at = std::chrono::system_clock::now();
                   const auto body = boost::json::parse(rc.request.body).as_object();
                   {
                     std::lock_guard lock(mutex_);
                     arrivals_.emplace_back(std::string(body.at("release_id").as_string()), at);
                   }
                   respond(backstop::http::JsonResponse(200, "{}"));
                 }});
    backstop::http::ServerOptions o;
    o.port = 0;
    o.threads = 1;
    server_ = std::make_unique<backstop::http::Server>(o, router_, nullptr);
    if (!server_->Start().ok()) std::abort();
  }
  ~Receiver() override { server_->Shutdown(); }
  std::optional<Outcome> Cached(const std::string&, backstop::http::TokenCheck) override {
    return Outcome(std::optional<backstop::Principal>{});
  }
  void Lookup(const std::string&, backstop::http::TokenCheck,
              std::function<void(Outcome)> done) override {
    done(std::optional<backstop::Principal>{});
  }
  std::uint16_t port() const { return server_->port(); }
  std::optional<std::chrono::system_clock::time_point> ArrivalOf(const std::string& release_id) {
    std::lock_guard lock(mutex_);
    for (const auto& [id, at] : arrivals_) {
      if (id == release_id) return at;
    }
    return std::nullopt;
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> arrivals_;
  backstop::http::Router router_;
  std::unique_ptr<backstop::http::Server> server_;
};

Receiver* g_receiver = nullptr;

}  // namespace

int main() {
  using namespace backstop;
  constexpr int kReleases = 100;
  constexpr auto kWaitPerRelease = std::chrono::seconds(5);
  Receiver receiver;
  g_receiver = &receiver;
  ::setenv("BACKSTOP_BENCH_WEBHOOK_SECRET", "bench-secret", 1);
  bench::BenchThresholds thresholds;
  bench::BenchServer server(thresholds.path(), [](config::Config& c) {
    config::ExecutorConfig e;
    e.type = config::ExecutorType::kWebhook;
    e.url = "http://127.0.0.1:" + std::to_string(g_receiver->port()) + "/rollback";
    e.secret_env = "BACKSTOP_BENCH_WEBHOOK_SECRET";
    e.timeout = Millis(5000);
    c.executors = {e};
  });
  const std::string deployer = server.Token("bench-ci", Role::kDeployer);
  http::HttpClient client("127.0.0.1", server.port());
  std::vector<double> latencies_ms;
  int missing = 0;
  for (int i = 0; i < kReleases; ++i) {
    const std::string service = "svc-" + std::to_string(i);
    const std::string id = "bench-" + std::to_string(i);
    const auto answered = bench::DeployAndBreach(client, deployer, id, service);
    if (!answered) return 1;
    const auto responded = *answered;
    const auto deadline = std::chrono::steady_clock::now() + kWaitPerRelease;
    std::optional<std::chrono::system_clock::time_point> arrived;
    while (!arrived && std::chrono::steady_clock::now() < deadline) {
      arrived = receiver.ArrivalOf(id);
      if (!arrived) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (!arrived) {
      ++missing;
      continue;
    }
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(*arrived - responded).count());
  }
  std::printf("breach_to_webhook: %zu webhooks over %d releases (%d missing)\n", latencies_ms.size(), kReleases,
              missing);
  std::printf("breach_to_webhook: from the breaching batch's response to the receiver getting the webhook: "
              "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              bench::Percentile(latencies_ms, 50), bench::Percentile(latencies_ms, 99),
              bench::Percentile(latencies_ms, 100));
  char v[96];
  std::snprintf(v, sizeof v, "p99 %.2f ms (p50 %.2f ms, max %.2f ms)", bench::Percentile(latencies_ms, 99),
                bench::Percentile(latencies_ms, 50), bench::Percentile(latencies_ms, 100));
  bench::Summary("breach-to-webhook over 100 releases", v, "", "", "p99 <= 10 ms");
  return missing == 0 ? 0 : 1;
}
