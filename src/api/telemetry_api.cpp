// POST /v1/telemetry: samples into the in-memory windows; no database work.
#include <chrono>
#include <cmath>
#include <set>

#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/common/identifiers.hpp"
#include "backstop/evaluator/evaluator.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/telemetry/window_store.hpp"

namespace backstop::api {

namespace {

// DESIGN: a timestamp more than 60 s in the future is a rejected sample.
constexpr auto kMaxFutureSkew = std::chrono::seconds(60);

// Validates one sample; the error names the field.
Result<telemetry::IncomingSample> ParseSample(const boost::json::value& v, TimePoint now) {
  if (!v.is_object()) return Error::InvalidInput("sample: must be a JSON object");
  const auto& o = v.as_object();
  for (const auto& kv : o) {
    const std::string_view k = kv.key();
    if (k != "service" && k != "environment" && k != "version" && k != "signal" && k != "value" &&
        k != "source" && k != "timestamp") {
      return Error::InvalidInput(std::string(k) + ": unknown field");
    }
  }
  telemetry::IncomingSample s;
  const auto ident = [&](const char* field, std::string& out, bool required) -> Status {
    const auto* f = o.if_contains(field);
    if (f == nullptr || (!required && f->is_null())) {
      if (required) return Error::InvalidInput(std::string(field) + ": is required");
      return Ok();
    }
    if (!f->is_string() || !IsValidIdentifier(f->as_string())) {
      return Error::InvalidInput(std::string(field) + ": " + kIdentifierRule);
    }
    out = std::string(f->as_string());
    return Ok();
  };
  for (auto [field, out] : {std::pair<const char*, std::string*>{"service", &s.service},
                            {"environment", &s.environment},
                            {"version", &s.version},
                            {"signal", &s.signal}}) {
    if (auto st = ident(field, *out, true); !st) return st.error();
  }
  if (auto st = ident("source", s.source, false); !st) return st.error();
  const auto* value = o.if_contains("value");
  if (value == nullptr) return Error::InvalidInput("value: is required");
  if (!value->is_number() || !std::isfinite(value->to_number<double>())) {
    return Error::InvalidInput("value: must be a finite number");
  }
  s.sample.value = value->to_number<double>();
  s.sample.at = now;
  if (const auto* ts = o.if_contains("timestamp"); ts != nullptr && !ts->is_null()) {
    std::optional<TimePoint> parsed;
    if (ts->is_string()) parsed = ParseRfc3339(ts->as_string());
    if (!parsed) return Error::InvalidInput("timestamp: must be an RFC 3339 time like 2026-11-22T10:00:00Z");
    if (*parsed > now + kMaxFutureSkew) {
      return Error::InvalidInput("timestamp: more than 60 s in the future");
    }
    s.sample.at = *parsed;
  }
  return s;
}

void PostTelemetry(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const auto arrival = std::chrono::steady_clock::now();
  if (!ctx.evaluator.active()) {
    // Telemetry lives in the active evaluator's memory; a standby keeps none.
    return respond(http::ErrorResponse(
        Error::Unavailable("this process is a standby evaluator; send telemetry to the active one")));
  }
  // The batch's DOM lives in one arena sized from the body: parsing then
  // costs a few allocations instead of one per sample object and string.
  boost::json::monotonic_resource arena(rc.request.body.size() * 2 + 1024);
  auto parsed = ParseJsonObjectInto(rc.request.body, &arena);
  if (!parsed) return respond(http::ErrorResponse(parsed.error()));
  const boost::json::object* body = &parsed->as_object();
  if (auto s = RejectUnknownFields(*body, {"samples"}); !s) return respond(http::ErrorResponse(s.error()));
  const auto* samples = body->if_contains("samples");
  if (samples == nullptr || !samples->is_array()) {
    return respond(http::ErrorResponse(Error::InvalidInput("samples: must be an array", {"samples"})));
  }
  const auto& arr = samples->as_array();
  if (static_cast<std::int64_t>(arr.size()) > ctx.config.limits.max_samples_per_request) {
    return respond(http::ErrorResponse(
        Error{ErrorKind::kInvalidInput, "limit_exceeded",
              "samples: at most limits.max_samples_per_request (" +
                  std::to_string(ctx.config.limits.max_samples_per_request) + ") per request",
              {"limits.max_samples_per_request"}}));
  }
  const TimePoint now = ctx.clock.Now();  // receipt time on the database clock
  std::int64_t accepted = 0;
  std::int64_t series_limited = 0;
  boost::json::array rejected;
  std::set<std::pair<std::string, std::string>> touched;
  std::set<std::pair<std::string, std::string>>::iterator last_touched;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    auto s = ParseSample(arr[i], now);
    if (!s) {
      rejected.push_back(boost::json::object{{"index", i}, {"error", s.error().message}});
      continue;
    }
    if (ctx.windows.Append(*s) == telemetry::AppendResult::kSeriesLimit) {
      ++series_limited;
      rejected.push_back(boost::json::object{
          {"index", i},
          {"error", "series_limit: limits.max_series (" + std::to_string(ctx.config.limits.max_series) +
                        ") live series reached; this new series is refused"}});
      continue;
    }
    ++accepted;
    // Batches mostly repeat one service and environment: compare before
    // paying for a set insertion.
    if (touched.empty() || last_touched->first != s->service || last_touched->second != s->environment) {
      last_touched = touched.emplace(s->service, s->environment).first;
    }
  }
  ctx.metrics.CountSamples("accepted", accepted);
  ctx.metrics.CountSamples("series_limit", series_limited);
  ctx.metrics.CountSamples("rejected", static_cast<std::int64_t>(rejected.size()) - series_limited);
  if (!touched.empty()) ctx.evaluator.NotifyTelemetry(touched, arrival);
  boost::json::object out{{"accepted", accepted}, {"rejected", std::move(rejected)}};
  respond(http::JsonResponse(202, Serialize(out)));
}

}  // namespace

void AddTelemetryRoutes(http::Router& router, ApiContext& ctx) {
  // No database work at all: the caller's principal may come from memory.
  router.Add({"POST", "/v1/telemetry", kTelemetryWriters, http::BodyPolicy::kRequiredJson,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                PostTelemetry(ctx, rc, std::move(respond));
              },
              http::TokenCheck::kCached});
}

}  // namespace backstop::api
