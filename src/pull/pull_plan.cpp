#include "backstop/pull/pull_plan.hpp"

#include <cmath>
#include <map>

namespace backstop::pull {

std::vector<PlannedQuery> PlanQueries(std::string_view source, const std::vector<PullRelease>& releases) {
  // (signal, query) -> the series it feeds; std::map keeps the order stable.
  std::map<std::pair<std::string, std::string>, std::set<SeriesKey>> planned;
  for (const PullRelease& release : releases) {
    if (!release.set) continue;
    for (const policy::SignalRule& signal : release.set->signals) {
      const auto query = signal.queries.find(std::string(source));
      if (query == signal.queries.end()) continue;
      std::set<SeriesKey>& wanted = planned[{signal.name, query->second}];
      wanted.insert({release.service, release.environment, release.version});
      if (release.previous_version) {
        wanted.insert({release.service, release.environment, *release.previous_version});
      }
    }
  }
  std::vector<PlannedQuery> out;
  out.reserve(planned.size());
  for (auto& [key, wanted] : planned) out.push_back({key.first, key.second, std::move(wanted)});
  return out;
}

Selection SelectSamples(const PlannedQuery& query, const std::vector<ResultSeries>& series,
                        const config::SourceLabels& labels, const std::string& source, TimePoint at) {
  Selection selection;
  SeriesKey key;
  for (const ResultSeries& s : series) {
    const auto service = s.Label(labels.service);
    const auto environment = s.Label(labels.environment);
    const auto version = s.Label(labels.version);
    if (!service || !environment || !version) {
      ++selection.unmatched;
      continue;
    }
    key.service.assign(*service);
    key.environment.assign(*environment);
    key.version.assign(*version);
    if (query.wanted.find(key) == query.wanted.end()) {
      ++selection.unmatched;
      continue;
    }
    if (!std::isfinite(s.value)) {
      ++selection.nonfinite;
      continue;
    }
    telemetry::IncomingSample sample;
    sample.service = key.service;
    sample.environment = key.environment;
    sample.version = key.version;
    sample.signal = query.signal;
    sample.source = source;
    sample.sample = telemetry::Sample{at, s.value};
    selection.samples.push_back(std::move(sample));
  }
  return selection;
}

std::string FormEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0F];
    }
  }
  return out;
}

std::string QueryForm(std::string_view query, TimePoint at, Millis timeout) {
  const std::int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  // Whole seconds and three decimals; times before 1970 do not occur here.
  std::string millis = std::to_string(ms % 1000);
  millis.insert(0, 3 - millis.size(), '0');
  const std::string time = std::to_string(ms / 1000) + "." + millis;
  return "query=" + FormEncode(query) + "&time=" + time + "&timeout=" + std::to_string(timeout.count()) + "ms";
}

std::string QueryTarget(std::string_view url_path) {
  std::string target(url_path);
  while (!target.empty() && target.back() == '/') target.pop_back();
  return target + "/api/v1/query";
}

}  // namespace backstop::pull
