#include "backstop/pull/prometheus_response.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include <boost/json.hpp>

#include "backstop/common/wire_table.hpp"

namespace backstop::pull {
namespace {

constexpr WireTable<PullResult, 7> kPullResults{{
    {PullResult::kOk, "ok"},
    {PullResult::kQueryError, "query_error"},
    {PullResult::kUnavailable, "unavailable"},
    {PullResult::kTimeout, "timeout"},
    {PullResult::kHttpError, "http_error"},
    {PullResult::kBadResponse, "bad_response"},
    {PullResult::kWarnings, "warnings"},
}};

// An error longer than this is cut: it ends up in a log line.
constexpr std::size_t kMaxErrorText = 512;

QueryAnswer Failure(PullResult result, std::string error) {
  if (error.size() > kMaxErrorText) {
    error.resize(kMaxErrorText);
    error += "...";
  }
  QueryAnswer answer;
  answer.result = result;
  answer.error = std::move(error);
  return answer;
}

std::string StringOr(const boost::json::object& o, std::string_view key, std::string_view fallback) {
  const auto* v = o.if_contains(key);
  if (v != nullptr && v->is_string()) return std::string(v->as_string());
  return std::string(fallback);
}

// The class of a `status: error` envelope, by its errorType (the Prometheus
// API's error kinds: bad_data, execution, timeout, canceled, unavailable,
// internal, not_found, not_acceptable).
PullResult ResultOfErrorType(std::string_view type) {
  if (type == "bad_data" || type == "execution") return PullResult::kQueryError;
  if (type == "timeout" || type == "canceled") return PullResult::kTimeout;
  if (type == "unavailable" || type == "internal") return PullResult::kUnavailable;
  return PullResult::kHttpError;
}

// The class of a non-2xx answer, by its status and (when it sent one) the
// envelope's errorType.
PullResult ResultOfStatus(int http_status, std::string_view error_type) {
  if (http_status == 400 || http_status == 422) return PullResult::kQueryError;
  if (http_status == 503 && (error_type == "timeout" || error_type == "canceled")) return PullResult::kTimeout;
  if (http_status >= 500) return PullResult::kUnavailable;
  return PullResult::kHttpError;
}

std::string Describe(const boost::json::object& envelope) {
  const std::string type = StringOr(envelope, "errorType", "");
  const std::string error = StringOr(envelope, "error", "");
  if (type.empty()) return error.empty() ? "no error given" : error;
  return error.empty() ? type : type + ": " + error;
}

// One entry of data.result of a vector: {"metric": {...}, "value": [ts, "v"]}.
std::optional<ResultSeries> ReadSeries(const boost::json::value& item, std::string& why) {
  const auto* entry = item.if_object();
  if (entry == nullptr) {
    why = "a result entry is not an object";
    return std::nullopt;
  }
  ResultSeries series;
  if (const auto* metric = entry->if_contains("metric")) {
    if (!metric->is_object()) {
      why = "a result's metric is not an object";
      return std::nullopt;
    }
    for (const auto& [name, value] : metric->as_object()) {
      if (!value.is_string()) {
        why = "label " + std::string(name) + " is not a string";
        return std::nullopt;
      }
      series.labels.emplace_back(std::string(name), std::string(value.as_string()));
    }
  }
  const auto* value = entry->if_contains("value");
  if (value == nullptr || !value->is_array() || value->as_array().size() != 2 ||
      !value->as_array()[1].is_string()) {
    why = "a result's value is not [time, \"value\"]";
    return std::nullopt;
  }
  series.value_text = std::string(value->as_array()[1].as_string());
  const std::optional<double> parsed = ParseSampleValue(series.value_text);
  if (!parsed) {
    why = "value \"" + series.value_text + "\" is not a number";
    return std::nullopt;
  }
  series.value = *parsed;
  return series;
}

}  // namespace

std::string_view ToString(PullResult r) { return WireName(kPullResults, r); }

std::vector<PullResult> AllPullResults() {
  std::vector<PullResult> out;
  for (const auto& [result, name] : kPullResults) out.push_back(result);
  return out;
}

std::optional<std::string_view> ResultSeries::Label(std::string_view name) const {
  for (const auto& [key, value] : labels) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<double> ParseSampleValue(std::string_view text) {
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  // from_chars reads no leading '+', and would read "inf"/"nan" in any case;
  // Prometheus sends finite values as plain decimals or exponents.
  if (text.empty() || text.front() == '+') return std::nullopt;
  for (const char c : text) {
    const bool numeric = (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E';
    if (!numeric) return std::nullopt;
  }
  double value = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

QueryAnswer ParseQueryAnswer(int http_status, std::string_view body) {
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(body, ec);
  const boost::json::object* envelope = ec ? nullptr : parsed.if_object();
  const bool success_code = http_status >= 200 && http_status < 300;

  if (!success_code) {
    // Errors before the API handler (a proxy, a wrong path) may not be JSON.
    const std::string type = envelope != nullptr ? StringOr(*envelope, "errorType", "") : "";
    std::string reason = "HTTP " + std::to_string(http_status);
    if (envelope != nullptr) reason += ": " + Describe(*envelope);
    return Failure(ResultOfStatus(http_status, type), std::move(reason));
  }
  if (envelope == nullptr) {
    return Failure(PullResult::kBadResponse, ec ? "answer is not JSON" : "answer is not a JSON object");
  }
  const std::string status = StringOr(*envelope, "status", "");
  if (status == "error") {
    return Failure(ResultOfErrorType(StringOr(*envelope, "errorType", "")), Describe(*envelope));
  }
  if (status != "success") return Failure(PullResult::kBadResponse, "status is neither success nor error");
  if (const auto* warnings = envelope->if_contains("warnings")) {
    if (!warnings->is_array()) return Failure(PullResult::kBadResponse, "warnings is not an array");
    if (!warnings->as_array().empty()) {
      std::string text;
      for (const auto& w : warnings->as_array()) {
        if (!text.empty()) text += "; ";
        text += w.is_string() ? std::string(w.as_string()) : boost::json::serialize(w);
      }
      return Failure(PullResult::kWarnings, "warnings: " + text);
    }
  }
  const auto* data = envelope->if_contains("data");
  if (data == nullptr || !data->is_object()) return Failure(PullResult::kBadResponse, "data is not an object");
  const std::string type = StringOr(data->as_object(), "resultType", "");
  if (type == "matrix" || type == "scalar" || type == "string") {
    return Failure(PullResult::kQueryError,
                   "the query returns a " + type + "; an instant vector (one value per series) is needed");
  }
  if (type != "vector") return Failure(PullResult::kBadResponse, "data.resultType is not vector");
  const auto* result = data->as_object().if_contains("result");
  if (result == nullptr || !result->is_array()) return Failure(PullResult::kBadResponse, "data.result is not an array");

  QueryAnswer answer;
  answer.result = PullResult::kOk;
  answer.series.reserve(result->as_array().size());
  for (const auto& item : result->as_array()) {
    std::string why;
    std::optional<ResultSeries> series = ReadSeries(item, why);
    if (!series) return Failure(PullResult::kBadResponse, why);
    answer.series.push_back(std::move(*series));
  }
  return answer;
}

}  // namespace backstop::pull
