#include "backstop/http/router.hpp"

#include <cctype>

#include <spdlog/spdlog.h>

#include "backstop/http/error_response.hpp"

namespace backstop::http {

namespace {

constexpr const char* kBearer = "Bearer ";
const std::string kUnmatchedLabel = "unmatched";

bool IsJsonContentType(const std::string& ct) {
  // "application/json" optionally followed by parameters ("; charset=utf-8").
  const std::string base = ct.substr(0, ct.find(';'));
  std::string trimmed;
  for (char c : base) {
    if (c != ' ' && c != '\t') trimmed.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return trimmed == "application/json";
}

}  // namespace

const std::string& Router::Match::label() const {
  return route_ != nullptr ? route_->spec.pattern : kUnmatchedLabel;
}

std::optional<std::chrono::milliseconds> Router::Match::timeout() const {
  return route_ != nullptr ? route_->timeout : std::nullopt;
}

Router::Router(Authenticator& authenticator) : authenticator_(authenticator) {}

std::vector<std::string> Router::Split(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string::npos ? path.size() : slash;
    if (end > start) out.push_back(path.substr(start, end - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

bool Router::Matches(const Route& r, const std::vector<std::string>& segs,
                     std::vector<std::string>& params) {
  if (r.segments.size() != segs.size()) return false;
  params.clear();
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const auto& pat = r.segments[i];
    if (pat.size() > 2 && pat.front() == '{' && pat.back() == '}') {
      params.push_back(segs[i]);
    } else if (pat != segs[i]) {
      return false;
    }
  }
  return true;
}

void Router::Add(RouteSpec spec, std::optional<std::chrono::milliseconds> timeout) {
  Route r{std::move(spec), {}, timeout};
  r.segments = Split(r.spec.pattern);
  routes_.push_back(std::move(r));
}

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : routes_) out.emplace_back(r.spec.method, r.spec.pattern);
  return out;
}

Router::Match Router::Find(const std::string& method, const std::string& path) const {
  const auto segs = Split(path);
  Match match;
  for (const auto& r : routes_) {
    std::vector<std::string> params;
    if (!Matches(r, segs, params)) continue;
    if (r.spec.method == method) {
      // The first matching route added wins.
      match.route_ = &r;
      match.params_ = std::move(params);
      match.allow_.clear();
      return match;
    }
    match.allow_ += (match.allow_.empty() ? "" : ", ") + r.spec.method;
  }
  return match;
}

void Router::Dispatch(Match match, Request request, Respond respond, Post post) const {
  if (!match.found()) {
    if (!match.allow_.empty()) {
      Response resp = ErrorResponse(Error{ErrorKind::kMethodNotAllowed, "method_not_allowed",
                                          request.method + " is not allowed on " + request.path, {}});
      resp.headers.emplace_back("Allow", match.allow_);
      respond(std::move(resp));
    } else {
      respond(ErrorResponse(Error::NotFound("no route for " + request.path)));
    }
    return;
  }
  const Route& route = *match.route_;
  // Shared so the handler can outlive this frame (it answers asynchronously).
  auto shared_request = std::make_shared<const Request>(std::move(request));

  if (route.spec.roles.empty()) {
    Invoke(route, std::move(shared_request), std::move(match.params_), std::nullopt, std::move(respond));
    return;
  }
  const std::string& auth = shared_request->authorization;
  if (auth.rfind(kBearer, 0) != 0 || auth.size() == std::char_traits<char>::length(kBearer)) {
    respond(ErrorResponse(Error::Unauthorized("missing bearer token")));
    return;
  }
  const std::string token = auth.substr(std::char_traits<char>::length(kBearer));
  if (route.spec.token_check != TokenCheck::kConfirmed) {
    if (auto cached = authenticator_.Cached(token, route.spec.token_check)) {
      Authorize(route, std::move(shared_request), std::move(match.params_), std::move(*cached),
                std::move(respond));
      return;
    }
  }
  // Runs on the connection's strand as an Asio handler: nothing may escape it.
  auto resume = [&route, shared_request = std::move(shared_request), params = std::move(match.params_),
                 respond = std::move(respond)](Authenticator::Outcome outcome) mutable {
    try {
      Authorize(route, std::move(shared_request), std::move(params), std::move(outcome), respond);
    } catch (const std::exception& e) {
      spdlog::error("authorizing {} {} failed: {}", route.spec.method, route.spec.pattern, e.what());
      respond(ErrorResponse(Error::Internal("internal error")));
    }
  };
  // The answer arrives on a database pool thread: continue on the connection's strand.
  authenticator_.Lookup(token, route.spec.token_check,
                        [post = std::move(post), resume = std::move(resume)](Authenticator::Outcome outcome) {
                          post([resume, outcome = std::move(outcome)]() mutable { resume(std::move(outcome)); });
                        });
}

void Router::Authorize(const Route& route, std::shared_ptr<const Request> request,
                       std::vector<std::string> params, Authenticator::Outcome outcome,
                       Respond respond) {
  if (!outcome.ok()) {
    respond(ErrorResponse(outcome.error()));
    return;
  }
  if (!outcome.value().has_value()) {
    respond(ErrorResponse(Error::Unauthorized("invalid or revoked token")));
    return;
  }
  const Principal& who = *outcome.value();
  if (route.spec.roles.count(who.role) == 0) {
    respond(ErrorResponse(Error::Forbidden(
        "forbidden", "role " + std::string(RoleName(who.role)) + " may not use this route")));
    return;
  }
  Invoke(route, std::move(request), std::move(params), who, std::move(respond));
}

void Router::Invoke(const Route& route, std::shared_ptr<const Request> request,
                    std::vector<std::string> params, std::optional<Principal> principal,
                    Respond respond) {
  const Request& req = *request;
  const bool has_body = !req.body.empty();
  if (route.spec.body == BodyPolicy::kRequiredJson ||
      (route.spec.body == BodyPolicy::kOptionalJson && has_body)) {
    if (!IsJsonContentType(req.content_type)) {
      respond(ErrorResponse(Error{ErrorKind::kUnsupportedMediaType, "unsupported_media_type",
                                  "the body must be application/json", {}}));
      return;
    }
  }
  RequestContext ctx{req, std::move(params), std::move(principal)};
  try {
    // The handler owns `respond` from here; the request stays alive with it.
    route.spec.handler(ctx, [respond, request](Response r) { respond(std::move(r)); });
  } catch (const std::exception& e) {
    spdlog::error("handler for {} {} threw: {}", req.method, route.spec.pattern, e.what());
    respond(ErrorResponse(Error::Internal("internal error")));
  }
}

}  // namespace backstop::http
