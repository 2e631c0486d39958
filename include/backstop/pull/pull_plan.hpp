#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backstop/common/duration.hpp"
#include "backstop/common/time_format.hpp"
#include "backstop/config/config.hpp"
#include "backstop/policy/threshold_set.hpp"
#include "backstop/pull/prometheus_response.hpp"
#include "backstop/telemetry/window_store.hpp"

namespace backstop::pull {

// What pulling needs to know of a release under evaluation (or a restored
// version under post-rollback verification): its series and the threshold
// set it pinned.
struct PullRelease {
  std::string service;
  std::string environment;
  std::string version;
  std::optional<std::string> previous_version;  // its baseline series
  std::shared_ptr<const policy::ThresholdSet> set;
};

// (service, environment, version): a canary or baseline series of a signal.
struct SeriesKey {
  std::string service;
  std::string environment;
  std::string version;

  auto operator<=>(const SeriesKey&) const = default;
};

// One instant query of one source for one interval: a signal's PromQL and
// the series of every release it feeds.
struct PlannedQuery {
  std::string signal;
  std::string query;
  std::set<SeriesKey> wanted;  // canaries and baselines of the releases using this query
};

// The queries `source` runs this interval. One per (signal, query text) over
// all releases — never one per release — so the cost is O(signals), not
// O(releases). Releases whose class gives the same signal the same query
// share it; two classes giving one signal different queries at this source
// get one query each, and each query's series feed only the releases of its
// classes. Sorted by (signal, query). Pure.
[[nodiscard]] std::vector<PlannedQuery> PlanQueries(std::string_view source,
                                                    const std::vector<PullRelease>& releases);

// The samples one successful answer adds, and what it dropped.
struct Selection {
  std::vector<telemetry::IncomingSample> samples;
  std::int64_t nonfinite = 0;  // wanted series whose value was NaN or ±Inf: no sample
  std::int64_t unmatched = 0;  // series no wanted (service, environment, version), or missing a label
};

// Maps each result series through `labels` to (service, environment,
// version) and keeps the series `query` wants, as samples of its signal
// from `source` at `at` (the query's evaluation time). A non-finite value
// is no sample: never a pass or a breach. Several series mapping to one key
// (per-instance results) each give a sample, as several pushers would.
// Pure.
[[nodiscard]] Selection SelectSamples(const PlannedQuery& query, const std::vector<ResultSeries>& series,
                                      const config::SourceLabels& labels, const std::string& source,
                                      TimePoint at);

// The request of one instant query (INTEGRATIONS §1): form fields `query`,
// `time` (Unix seconds with milliseconds, "1767261600.123") and `timeout`
// (whole milliseconds, "5000ms"), application/x-www-form-urlencoded.
[[nodiscard]] std::string QueryForm(std::string_view query, TimePoint at, Millis timeout);

// Percent-encodes a form field for application/x-www-form-urlencoded:
// everything but [A-Za-z0-9-._~] becomes %XX.
[[nodiscard]] std::string FormEncode(std::string_view text);

// The target of the query API under a source URL's path ("" or "/prefix").
[[nodiscard]] std::string QueryTarget(std::string_view url_path);

}  // namespace backstop::pull
