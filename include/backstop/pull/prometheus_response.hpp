#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backstop::pull {

// How one pull ended; the wire names are the `result` label of
// backstop_telemetry_pulls_total. Only kOk adds samples: every other result
// leaves the windows untouched, so the signal goes `stale` by the normal
// rule and never reads as a pass (INTEGRATIONS §1).
enum class PullResult {
  kOk,           // ok: a vector answer without warnings
  kQueryError,   // query_error: 400/422, errorType bad_data or execution, or an
                 //   answer that is not an instant vector (the query's fault; logged with it)
  kUnavailable,  // unavailable: 5xx, a refused or broken connection; retried next interval
  kTimeout,      // timeout: no answer within the source's timeout, or Prometheus's own
  kHttpError,    // http_error: another non-2xx (401, 403, 404: the source's config is wrong)
  kBadResponse,  // bad_response: not JSON, or not the Prometheus envelope
  kWarnings,     // warnings: the answer carries warnings (partial data is not evidence)
};
std::string_view ToString(PullResult r);
// Every result, in table order (metrics pre-create a series for each).
std::vector<PullResult> AllPullResults();

// One result series of an instant vector.
struct ResultSeries {
  std::vector<std::pair<std::string, std::string>> labels;  // as answered
  std::string value_text;  // the value as sent ("0.05", "NaN", "+Inf", "1e-07")
  double value = 0.0;      // parsed; NaN or ±Inf when the text says so

  // The value of a label, if present.
  [[nodiscard]] std::optional<std::string_view> Label(std::string_view name) const;
};

struct QueryAnswer {
  PullResult result = PullResult::kBadResponse;
  std::string error;                 // why, when result != kOk (errorType: error, or our reason)
  std::vector<ResultSeries> series;  // only when result == kOk
};

// Reads the answer of `POST /api/v1/query` (the Prometheus HTTP API
// envelope: status, data.resultType, data.result, errorType, error,
// warnings). `http_status` is the HTTP status code. Pure; never throws.
//
// - 400 and 422 are query errors, 503 with errorType `timeout` or `canceled`
//   a timeout, other 5xx unavailable, other non-2xx http_error; the error
//   envelope's `errorType: error` is the reason when there is one.
// - `status: error` in a 2xx answer is classified by its errorType.
// - A non-empty `warnings` array fails the pull (`infos` do not).
// - `resultType` must be `vector`: a matrix (a range selector such as
//   `x[5m]` without a function), a scalar or a string cannot be mapped to
//   releases and is a query error naming the type.
// - A sample value that is not a number is a bad response; "NaN", "+Inf"
//   and "-Inf" parse to NaN and ±infinity (the caller drops them).
[[nodiscard]] QueryAnswer ParseQueryAnswer(int http_status, std::string_view body);

// Parses a Prometheus sample value: a decimal or exponent number, "NaN",
// "+Inf", "Inf" or "-Inf". nullopt for anything else.
[[nodiscard]] std::optional<double> ParseSampleValue(std::string_view text);

}  // namespace backstop::pull
