#include "backstop/decision/evaluation_json.hpp"

#include <cmath>
#include <cstdint>

#include <boost/json.hpp>

namespace backstop::decision {

boost::json::value JsonNumber(double d) {
  // JSON has no infinity or NaN; Boost.JSON would write the bare word
  // `Infinity`, which no parser (PostgreSQL's json type included) accepts.
  if (!std::isfinite(d)) return nullptr;
  // Integral values are written as integers ("5", not "5E0").
  if (std::floor(d) == d && std::fabs(d) < 9.0e15) return static_cast<std::int64_t>(d);
  return d;
}

namespace {
boost::json::value AggregateToJson(const std::optional<AggregateValue>& a) {
  if (!a) return nullptr;
  boost::json::object o;
  o["value"] = JsonNumber(a->value);
  o["samples"] = a->samples;
  o["newest_at"] = a->newest_at ? boost::json::value(FormatRfc3339(*a->newest_at)) : nullptr;
  return o;
}
}  // namespace

boost::json::object EvaluationToJson(const Evaluation& e) {
  boost::json::array signals;
  for (const auto& s : e.signals) {
    boost::json::object o;
    o["name"] = s.name;
    o["source"] = s.source;
    o["critical"] = s.critical;
    o["state"] = ToString(s.state);
    // The canary object is always there; without samples its value is null.
    boost::json::value canary = AggregateToJson(s.canary);
    if (canary.is_null()) canary = boost::json::object{{"value", nullptr}, {"samples", 0}, {"newest_at", nullptr}};
    o["canary"] = std::move(canary);
    o["baseline"] = AggregateToJson(s.baseline);
    o["absolute_breach"] = s.absolute_breach;
    o["baseline_breach"] = s.baseline_breach;
    o["p_value"] = s.p_value ? JsonNumber(*s.p_value) : nullptr;
    // What an approver compares the canary with: the bound and its direction.
    o["bad_when"] = policy::ToString(s.bad_when);
    o["bound"] = s.bound ? JsonNumber(*s.bound) : nullptr;
    signals.push_back(std::move(o));
  }
  boost::json::object out;
  out["verdict"] = ToString(e.verdict);
  out["signals"] = std::move(signals);
  out["conflicts"] = ReasonCodesToJson(e.conflicts);
  out["evaluated_at"] = FormatRfc3339(e.evaluated_at);
  return out;
}

boost::json::array ReasonCodesToJson(const std::vector<ReasonCode>& reasons) {
  boost::json::array a;
  for (auto r : reasons) a.emplace_back(ToString(r));
  return a;
}

}  // namespace backstop::decision
