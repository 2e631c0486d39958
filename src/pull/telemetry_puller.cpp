#include "backstop/pull/telemetry_puller.hpp"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>

#include <spdlog/spdlog.h>

#include "backstop/actions/delivery.hpp"
#include "backstop/http/client.hpp"
#include "backstop/metrics/metrics.hpp"

namespace backstop::pull {

namespace {

using SteadyClock = std::chrono::steady_clock;
using QueryKey = std::pair<std::string, std::string>;  // (signal, query)

bool IsTimeout(const std::string& message) {
  return message.find("timeout") != std::string::npos || message.find("timed out") != std::string::npos;
}

// The evaluation time sent as the query's `time` and given to its samples,
// cut to the milliseconds the form carries.
TimePoint ToMillis(TimePoint t) {
  return TimePoint(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()));
}

}  // namespace

// One configured source: its scheduler, its workers and its failure streaks.
class TelemetryPuller::Source {
 public:
  Source(const config::TelemetrySourceConfig& config, telemetry::WindowStore& windows, metrics::Metrics& metrics,
         const PullHooks& hooks)
      : config_(config), windows_(windows), metrics_(metrics), hooks_(hooks) {
    // The config loader accepted the URL, so it parses.
    const std::optional<actions::HttpUrl> url = actions::ParseHttpUrl(config.url);
    if (url) url_ = *url;
    if (url_.https) {
      // App::Start loaded the same ca_file already (a start-up error naming
      // the key); a failure here leaves the system store, which then
      // fails verification with its reason on every pull.
      auto tls = http::TlsClientContext::Create(config.ca_file);
      tls_ = tls ? *tls : http::TlsClientContext::System();
    }
    target_ = QueryTarget(url_.target);
    std::vector<std::string> results;
    for (PullResult r : AllPullResults()) results.emplace_back(ToString(r));
    metrics_.RegisterPullSource(config_.name, results);
  }

  ~Source() { Stop(); }

  void Start() {
    for (int i = 0; i < config_.max_concurrency; ++i) {
      workers_.emplace_back([this](std::stop_token stop) { WorkerLoop(stop); });
    }
    scheduler_ = std::jthread([this](std::stop_token stop) { SchedulerLoop(stop); });
  }

  void Stop() {
    scheduler_.request_stop();
    for (auto& w : workers_) w.request_stop();
    cv_.notify_all();
    if (scheduler_.joinable()) scheduler_.join();
    for (auto& w : workers_) {
      if (w.joinable()) w.join();
    }
    workers_.clear();
  }

  int PullNow() {
    if (!hooks_.active()) return 0;
    const std::vector<PlannedQuery> plan = Plan();
    std::lock_guard lock(sync_mutex_);
    if (!sync_client_) sync_client_ = std::make_unique<Connection>(url_, tls_);
    for (const PlannedQuery& query : plan) Run(*sync_client_, query);
    return static_cast<int>(plan.size());
  }

 private:
  // A worker's keep-alive connection and whether its last request worked.
  struct Connection {
    Connection(const actions::HttpUrl& url, std::shared_ptr<const http::TlsClientContext> tls)
        : client(http::ClientEndpoint{url.https, url.host, url.port, std::move(tls)}) {}
    http::HttpClient client;
    bool warm = false;
  };

  struct Streak {
    std::int64_t failures = 0;
  };

  std::vector<PlannedQuery> Plan() {
    std::vector<PlannedQuery> plan = PlanQueries(config_.name, hooks_.targets());
    EndStreaksNotIn(plan);
    return plan;
  }

  // Every `interval` while the lease is held: queue the interval's queries.
  void SchedulerLoop(std::stop_token stop) {
    auto next = SteadyClock::now();
    std::unique_lock lock(mutex_);
    while (!stop.stop_requested()) {
      cv_.wait_until(lock, stop, next, [] { return false; });
      if (stop.stop_requested()) break;
      next += config_.interval;
      const auto now = SteadyClock::now();
      if (next <= now) next = now + config_.interval;  // never a burst to catch up
      lock.unlock();
      std::vector<PlannedQuery> plan;
      if (hooks_.active()) plan = Plan();
      lock.lock();
      for (PlannedQuery& query : plan) {
        // Still queued or in flight from an earlier interval: no second copy.
        if (!pending_.insert({query.signal, query.query}).second) continue;
        queue_.push_back(std::move(query));
      }
      if (!queue_.empty()) cv_.notify_all();
    }
  }

  void WorkerLoop(std::stop_token stop) {
    Connection connection(url_, tls_);
    std::unique_lock lock(mutex_);
    while (true) {
      if (!cv_.wait(lock, stop, [this] { return !queue_.empty(); }) || stop.stop_requested()) return;
      PlannedQuery query = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      Run(connection, query);
      lock.lock();
      pending_.erase({query.signal, query.query});
    }
  }

  // One query: ask, parse, append what matched, count and log. Never throws.
  void Run(Connection& connection, const PlannedQuery& query) {
    const auto started = SteadyClock::now();
    QueryAnswer answer;
    TimePoint at{};
    try {
      at = ToMillis(hooks_.now());
      answer = Ask(connection, query.query, at);
    } catch (const std::exception& e) {
      answer.result = PullResult::kUnavailable;
      answer.error = e.what();
    }
    metrics_.ObservePullDuration(config_.name,
                                 std::chrono::duration<double>(SteadyClock::now() - started).count());
    if (answer.result == PullResult::kOk) Append(query, answer, at);
    metrics_.CountPull(config_.name, std::string(ToString(answer.result)));
    Track(query, answer);
  }

  QueryAnswer Ask(Connection& connection, const std::string& query, TimePoint at) {
    http::ClientRequest request;
    request.method = "POST";
    request.target = target_;
    request.headers = config_.headers;
    request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    request.headers.emplace_back("Accept", "application/json");
    request.body = QueryForm(query, at, config_.timeout);
    const auto deadline = SteadyClock::now() + config_.timeout;
    Result<http::ClientResponse> response = connection.client.Send(request, config_.timeout);
    // A keep-alive connection the server closed while idle fails the first
    // request on it; that says nothing about the source, so ask once more
    // on a fresh connection within what is left of the timeout.
    if (!response.ok() && connection.warm && !IsTimeout(response.error().message)) {
      const auto left = std::chrono::duration_cast<Millis>(deadline - SteadyClock::now());
      if (left > Millis(0)) response = connection.client.Send(request, left);
    }
    connection.warm = response.ok();
    if (!response.ok()) {
      QueryAnswer failed;
      const std::string& message = response.error().message;
      failed.result = IsTimeout(message) ? PullResult::kTimeout : PullResult::kUnavailable;
      failed.error = message;
      return failed;
    }
    return ParseQueryAnswer(response->status, response->body);
  }

  void Append(const PlannedQuery& query, const QueryAnswer& answer, TimePoint at) {
    const Selection selection = SelectSamples(query, answer.series, config_.labels, config_.name, at);
    std::set<std::pair<std::string, std::string>> touched;
    std::int64_t appended = 0;
    std::int64_t series_limited = 0;
    for (const telemetry::IncomingSample& sample : selection.samples) {
      if (windows_.Append(sample) == telemetry::AppendResult::kSeriesLimit) {
        ++series_limited;
        continue;
      }
      ++appended;
      touched.emplace(sample.service, sample.environment);
    }
    metrics_.CountPulledSamples(config_.name, appended);
    metrics_.CountSamples("series_limit", series_limited);
    metrics_.CountPullNonFinite(config_.name, selection.nonfinite);
    metrics_.CountPullUnmatched(config_.name, selection.unmatched);
    if (!touched.empty()) hooks_.notify(touched, SteadyClock::now());
  }

  // Logs the first failure of a streak (with the query: a query error is
  // the query's fault) and the success that ends it.
  void Track(const PlannedQuery& query, const QueryAnswer& answer) {
    std::int64_t ended = 0;
    bool started = false;
    {
      std::lock_guard lock(streak_mutex_);
      if (answer.result == PullResult::kOk) {
        auto it = streaks_.find({query.signal, query.query});
        if (it == streaks_.end()) return;
        ended = it->second.failures;
        streaks_.erase(it);
      } else {
        started = streaks_[{query.signal, query.query}].failures++ == 0;
      }
    }
    if (started) {
      spdlog::warn("telemetry source {}: pulling signal {} failed ({}): {}; no samples until it works again; "
                   "query: {}",
                   config_.name, query.signal, ToString(answer.result), answer.error, query.query);
    } else if (ended > 0) {
      spdlog::info("telemetry source {}: pulling signal {} works again after {} failed pull(s)", config_.name,
                   query.signal, ended);
    }
  }

  // A failing query no release needs any more ends its streak too.
  void EndStreaksNotIn(const std::vector<PlannedQuery>& plan) {
    std::vector<std::pair<QueryKey, std::int64_t>> ended;
    {
      std::lock_guard lock(streak_mutex_);
      for (auto it = streaks_.begin(); it != streaks_.end();) {
        bool planned = false;
        for (const PlannedQuery& q : plan) {
          if (q.signal == it->first.first && q.query == it->first.second) planned = true;
        }
        if (planned) {
          ++it;
        } else {
          ended.emplace_back(it->first, it->second.failures);
          it = streaks_.erase(it);
        }
      }
    }
    for (const auto& [key, failures] : ended) {
      spdlog::info("telemetry source {}: signal {} is no longer pulled (no release needs it) after {} failed "
                   "pull(s)",
                   config_.name, key.first, failures);
    }
  }

  const config::TelemetrySourceConfig config_;
  telemetry::WindowStore& windows_;
  metrics::Metrics& metrics_;
  const PullHooks& hooks_;
  actions::HttpUrl url_;
  std::shared_ptr<const http::TlsClientContext> tls_;  // https only
  std::string target_;

  std::mutex mutex_;  // guards queue_ and pending_
  std::condition_variable_any cv_;
  std::deque<PlannedQuery> queue_;
  std::set<QueryKey> pending_;  // queued or in flight

  std::mutex streak_mutex_;
  std::map<QueryKey, Streak> streaks_;  // failing queries

  std::mutex sync_mutex_;  // PullNow's connection
  std::unique_ptr<Connection> sync_client_;

  std::jthread scheduler_;
  std::vector<std::jthread> workers_;
};

TelemetryPuller::TelemetryPuller(const std::vector<config::TelemetrySourceConfig>& sources,
                                 telemetry::WindowStore& windows, metrics::Metrics& metrics, PullHooks hooks)
    : hooks_(std::move(hooks)) {
  for (const auto& source : sources) sources_.push_back(std::make_unique<Source>(source, windows, metrics, hooks_));
}

TelemetryPuller::~TelemetryPuller() { Stop(); }

void TelemetryPuller::Start() {
  for (auto& source : sources_) source->Start();
  if (!sources_.empty()) spdlog::info("telemetry puller: {} source(s)", sources_.size());
}

void TelemetryPuller::Stop() {
  for (auto& source : sources_) source->Stop();
}

int TelemetryPuller::PullNow() {
  int queries = 0;
  for (auto& source : sources_) queries += source->PullNow();
  return queries;
}

}  // namespace backstop::pull
