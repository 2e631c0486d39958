#include "backstop/http/router.hpp"

#include <cctype>

#include <spdlog/spdlog.h>

#include "backstop/http/error_response.hpp"

namespace backstop::http {

namespace {

constexpr const char* kBearer = "Bearer ";

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

bool Router::Match(const Route& r, const std::vector<std::string>& segs,
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

std::string Router::RouteLabel(const std::string& method, const std::string& path) const {
  const auto segs = Split(path);
  std::vector<std::string> params;
  for (const auto& r : routes_) {
    if (r.spec.method == method && Match(r, segs, params)) return r.spec.pattern;
  }
  return "unmatched";
}

std::optional<std::chrono::milliseconds> Router::RouteTimeout(const std::string& method,
                                                             const std::string& path) const {
  const auto segs = Split(path);
  std::vector<std::string> params;
  for (const auto& r : routes_) {
    if (r.spec.method == method && Match(r, segs, params)) return r.timeout;
  }
  return std::nullopt;
}

void Router::Dispatch(Request request, Respond respond) const {
  const auto segs = Split(request.path);
  const Route* found = nullptr;
  std::vector<std::string> params;
  std::string allow;
  for (const auto& r : routes_) {
    std::vector<std::string> p;
    if (!Match(r, segs, p)) continue;
    if (r.spec.method == request.method) {
      if (found == nullptr) {
        found = &r;
        params = std::move(p);
      }
    } else {
      allow += (allow.empty() ? "" : ", ") + r.spec.method;
    }
  }
  if (found == nullptr) {
    if (!allow.empty()) {
      Response resp = ErrorResponse(Error{ErrorKind::kMethodNotAllowed, "method_not_allowed",
                                          request.method + " is not allowed on " + request.path, {}});
      resp.headers.emplace_back("Allow", allow);
      respond(std::move(resp));
    } else {
      respond(ErrorResponse(Error::NotFound("no route for " + request.path)));
    }
    return;
  }

  // Shared so the handler can outlive this frame (authentication is async).
  auto shared_request = std::make_shared<Request>(std::move(request));
  const Route* route = found;
  auto invoke = [route, shared_request, params = std::move(params)](
                    std::optional<Principal> principal, Respond respond) {
    const Request& req = *shared_request;
    const bool has_body = !req.body.empty();
    if (route->spec.body == BodyPolicy::kRequiredJson ||
        (route->spec.body == BodyPolicy::kOptionalJson && has_body)) {
      if (!IsJsonContentType(req.content_type)) {
        respond(ErrorResponse(Error{ErrorKind::kUnsupportedMediaType, "unsupported_media_type",
                                    "the body must be application/json", {}}));
        return;
      }
    }
    RequestContext ctx{req, params, std::move(principal)};
    try {
      // The handler owns `respond` from here; the request stays alive with it.
      route->spec.handler(ctx, [respond, shared_request](Response r) { respond(std::move(r)); });
    } catch (const std::exception& e) {
      spdlog::error("handler for {} {} threw: {}", req.method, route->spec.pattern, e.what());
      respond(ErrorResponse(Error::Internal("internal error")));
    }
  };

  if (route->spec.roles.empty()) {
    invoke(std::nullopt, std::move(respond));
    return;
  }
  const std::string& auth = shared_request->authorization;
  if (auth.rfind(kBearer, 0) != 0 || auth.size() == std::char_traits<char>::length(kBearer)) {
    respond(ErrorResponse(Error::Unauthorized("missing bearer token")));
    return;
  }
  const std::string token = auth.substr(std::char_traits<char>::length(kBearer));
  authenticator_.Authenticate(
      token, [route, invoke = std::move(invoke), respond = std::move(respond)](
                 Result<std::optional<Principal>> result) mutable {
        if (!result.ok()) {
          respond(ErrorResponse(result.error()));
          return;
        }
        if (!result.value().has_value()) {
          respond(ErrorResponse(Error::Unauthorized("invalid or revoked token")));
          return;
        }
        const Principal& who = *result.value();
        if (route->spec.roles.count(who.role) == 0) {
          respond(ErrorResponse(Error::Forbidden(
              "forbidden", "role " + std::string(RoleName(who.role)) + " may not use this route")));
          return;
        }
        invoke(who, std::move(respond));
      });
}

}  // namespace backstop::http
