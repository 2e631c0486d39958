#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backstop/common/time_format.hpp"
#include "backstop/config/config.hpp"
#include "backstop/pull/pull_plan.hpp"
#include "backstop/telemetry/window_store.hpp"

namespace backstop::metrics {
class Metrics;
}

namespace backstop::pull {

// What the puller needs from the rest of the process, as functions so it
// depends on no evaluator type. Each is called from the puller's threads and
// must be thread-safe.
struct PullHooks {
  // Whether this process holds the evaluator lease: pulls run only then.
  std::function<bool()> active;
  // The releases to pull for (Evaluator::PullTargets).
  std::function<std::vector<PullRelease>()> targets;
  // Samples for these (service, environment) pairs were appended
  // (Evaluator::NotifyTelemetry), so their releases are evaluated at once.
  std::function<void(const std::set<std::pair<std::string, std::string>>&,
                     std::chrono::steady_clock::time_point)>
      notify;
  // Now on the clock the windows use (the database clock).
  std::function<TimePoint()> now;
};

// Pulls every signal that has a query for a configured telemetry source
// (INTEGRATIONS §1) into the same windows as pushed samples, so states,
// conflicts, Mann-Whitney and decisions are unchanged; the samples' source
// is the source's name.
//
// Each source runs on its own threads: a scheduler that, every `interval`
// while the process holds the evaluator lease, plans one instant query per
// (signal, query) over all releases (PlanQueries) and queues it, and
// `max_concurrency` workers, each with its own keep-alive connection, that
// run the queries. A query still queued or in flight is not queued again, so
// a slow source builds no backlog; and since no source shares a thread with
// another, with the evaluator or with the HTTP server, a slow or dead source
// delays nothing else.
//
// A failed pull (PullResult other than kOk) adds no sample. Each (signal,
// query) logs once when it starts failing (with the query) and once when it
// works again, never once per pull. Metrics: pulls by source and result,
// duration, samples, non-finite values, unmatched series.
//
// Thread-safe. Start and Stop are called from one thread; Stop joins every
// thread (a query in flight ends within its timeout).
class TelemetryPuller {
 public:
  TelemetryPuller(const std::vector<config::TelemetrySourceConfig>& sources, telemetry::WindowStore& windows,
                  metrics::Metrics& metrics, PullHooks hooks);
  ~TelemetryPuller();
  TelemetryPuller(const TelemetryPuller&) = delete;
  TelemetryPuller& operator=(const TelemetryPuller&) = delete;

  void Start();
  void Stop();

  // One round of every source on the calling thread, waiting for each query
  // (tests and benchmarks); does nothing while the lease is not held.
  // Returns the number of queries run.
  int PullNow();

 private:
  class Source;
  const PullHooks hooks_;  // before sources_: they hold a reference to it
  std::vector<std::unique_ptr<Source>> sources_;
};

}  // namespace backstop::pull
