#include "backstop/actions/delivery.hpp"

#include <algorithm>
#include <cmath>

#include <boost/json.hpp>

#include "backstop/common/sha256.hpp"
#include "backstop/common/wire_table.hpp"

namespace backstop::actions {

std::string WebhookBody(const ActionRequest& a) {
  boost::json::array approvers;
  for (const auto& x : a.approvers) approvers.emplace_back(x);
  boost::json::array reasons;
  for (const auto& x : a.reasons) reasons.emplace_back(x);
  boost::json::object body;
  body["action_id"] = a.action_id;
  body["release_id"] = a.release_id;
  body["service"] = a.service;
  body["environment"] = a.environment;
  body["from_version"] = a.from_version;
  body["to_version"] = a.to_version ? boost::json::value(*a.to_version) : nullptr;
  body["decided_by"] = a.decided_by;
  body["approvers"] = std::move(approvers);
  body["reasons"] = std::move(reasons);
  return boost::json::serialize(body);
}

std::string SignatureHeader(const std::string& secret, std::int64_t unix_seconds, const std::string& body) {
  const std::string t = std::to_string(unix_seconds);
  return "t=" + t + ",v1=" + HmacSha256Hex(secret, t + "." + body);
}

namespace {
constexpr WireTable<Outcome, 3> kOutcomes{{
    {Outcome::kSucceeded, "succeeded"},
    {Outcome::kRetry, "retry"},
    {Outcome::kFailed, "failed"},
}};
}  // namespace

std::string_view ToString(Outcome o) { return WireName(kOutcomes, o); }

Outcome ClassifyHttpStatus(int status) {
  if (status >= 200 && status < 300) return Outcome::kSucceeded;
  if (status == 408 || status == 429 || status >= 500) return Outcome::kRetry;
  return Outcome::kFailed;
}

Millis BackoffDelay(int attempt, double random01) {
  constexpr std::int64_t kBaseMs = 200;
  constexpr std::int64_t kCapMs = 30000;
  std::int64_t ceiling = kBaseMs;
  for (int i = 1; i < attempt && ceiling < kCapMs; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, kCapMs);
  const double r = std::clamp(random01, 0.0, 1.0);
  return Millis(static_cast<std::int64_t>(std::floor(r * static_cast<double>(ceiling))));
}

Millis RetryDelay(int attempt, double random01, std::optional<Millis> at_least) {
  constexpr Millis kLongestAsked = std::chrono::hours(1);
  const Millis backoff = BackoffDelay(attempt, random01);
  if (!at_least) return backoff;
  return std::max(backoff, std::clamp(*at_least, Millis(0), kLongestAsked));
}

std::vector<std::string> ExpandArgv(const std::vector<std::string>& argv_template, const ActionRequest& a) {
  const std::pair<const char*, std::string> values[] = {
      {"{service}", a.service},           {"{environment}", a.environment},
      {"{from_version}", a.from_version}, {"{to_version}", a.to_version.value_or("")},
      {"{action_id}", a.action_id},       {"{release_id}", a.release_id},
  };
  std::vector<std::string> out;
  for (const auto& element : argv_template) {
    std::string expanded;
    std::size_t i = 0;
    while (i < element.size()) {
      bool replaced = false;
      if (element[i] == '{') {
        for (const auto& [key, value] : values) {
          const std::string_view k(key);
          if (element.compare(i, k.size(), k) == 0) {
            expanded += value;  // inserted verbatim; never re-scanned
            i += k.size();
            replaced = true;
            break;
          }
        }
      }
      if (!replaced) expanded += element[i++];
    }
    out.push_back(std::move(expanded));
  }
  return out;
}

std::string SanitizeOutput(const std::string& raw, std::size_t max_bytes) {
  static const std::string kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(std::min(raw.size(), max_bytes));
  const auto* s = reinterpret_cast<const unsigned char*>(raw.data());
  const std::size_t n = raw.size();
  bool truncated = false;
  for (std::size_t i = 0; i < n;) {
    std::size_t len = 0;
    const unsigned char c = s[i];
    if (c < 0x80) len = 1;
    else if ((c & 0xE0) == 0xC0 && c >= 0xC2) len = 2;
    else if ((c & 0xF0) == 0xE0) len = 3;
    else if ((c & 0xF8) == 0xF0 && c <= 0xF4) len = 4;
    bool valid = len > 0 && i + len <= n;
    for (std::size_t k = 1; valid && k < len; ++k) valid = (s[i + k] & 0xC0) == 0x80;
    if (valid && len == 3) {
      const unsigned cp = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
      valid = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
    }
    if (valid && len == 4) {
      const unsigned cp = ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
      valid = cp >= 0x10000 && cp <= 0x10FFFF;
    }
    const std::string_view piece = valid ? std::string_view(raw).substr(i, len) : std::string_view(kReplacement);
    if (out.size() + piece.size() > max_bytes) {
      truncated = true;
      break;
    }
    if (!(valid && len == 1 && c == 0)) out.append(piece);
    i += valid ? len : 1;
  }
  if (truncated) out += "...[truncated]";
  return out;
}

std::optional<HttpUrl> ParseHttpUrl(const std::string& url) {
  HttpUrl out;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    out.https = true;
    out.port = 443;
    rest = url.substr(8);
  } else {
    return std::nullopt;
  }
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return std::nullopt;
  }
  const auto end = rest.find_first_of("/?#");
  const std::string authority = rest.substr(0, end);
  if (end != std::string::npos) {
    out.target = rest.substr(end);
    if (out.target.front() != '/') out.target.insert(0, "/");
    if (const auto hash = out.target.find('#'); hash != std::string::npos) out.target.resize(hash);
  }
  if (authority.find('@') != std::string::npos) return std::nullopt;  // no user info (it would be logged)
  std::string port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    out.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port_text = after.substr(1);
      if (port_text.empty()) return std::nullopt;
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return std::nullopt;
      out.host = authority.substr(0, colon);
    } else {
      out.host = authority;
    }
    if (out.host.find(':') != std::string::npos) return std::nullopt;
  }
  if (!port_text.empty()) {
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    const int p = std::stoi(port_text);
    if (p < 1 || p > 65535) return std::nullopt;
    out.port = static_cast<std::uint16_t>(p);
  }
  if (out.host.empty()) return std::nullopt;
  return out;
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  if (host.size() > 4 && host.ends_with(".localhost")) return true;
  if (host.rfind("127.", 0) != 0) return false;
  // 127.a.b.c with decimal octets only.
  int dots = 0;
  for (const char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

}  // namespace backstop::actions
