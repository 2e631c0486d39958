#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backstop/common/result.hpp"
#include "backstop/common/role.hpp"
#include "backstop/http/message.hpp"

namespace backstop::http {

// What a handler gets besides the request: path parameters in pattern order
// and the authenticated caller (absent on public routes).
struct RequestContext {
  const Request& request;
  std::vector<std::string> params;
  std::optional<Principal> principal;
};

using Handler = std::function<void(const RequestContext& ctx, Respond respond)>;

enum class BodyPolicy { kNone, kOptionalJson, kRequiredJson };

struct RouteSpec {
  std::string method;
  std::string pattern;                 // "/v1/releases/{id}/traffic"
  std::set<Role> roles;                // empty = public, no token needed
  BodyPolicy body = BodyPolicy::kNone;
  Handler handler;
};

// Resolves a bearer token to a principal, asynchronously (it needs the
// database). Implemented by the app over the token repository.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual void Authenticate(const std::string& token,
                            std::function<void(Result<std::optional<Principal>>)> done) = 0;
};

// Matches method and path, enforces content type, authentication and roles,
// then calls the handler. Exceptions thrown by a handler are caught here and
// answered 500 (the log gets the detail).
//
// Order of checks: unknown path → 404; known path, other method → 405 (with
// Allow); then 401 (no/bad token) before 403 (role); then 415 (body not JSON).
// Thread-safe after construction (routes are added before serving).
class Router {
 public:
  explicit Router(Authenticator& authenticator);

  // `timeout` overrides http.request_timeout for this route.
  void Add(RouteSpec spec, std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  void Dispatch(Request request, Respond respond) const;

  // Pattern of the route that would serve `path` (for metrics), or "unmatched".
  std::string RouteLabel(const std::string& method, const std::string& path) const;
  // The route's own answer deadline, if it has one.
  std::optional<std::chrono::milliseconds> RouteTimeout(const std::string& method, const std::string& path) const;

 private:
  struct Route {
    RouteSpec spec;
    std::vector<std::string> segments;
    std::optional<std::chrono::milliseconds> timeout;
  };
  static std::vector<std::string> Split(const std::string& path);
  static bool Match(const Route& r, const std::vector<std::string>& segs,
                    std::vector<std::string>& params);

  Authenticator& authenticator_;
  std::vector<Route> routes_;
};

}  // namespace backstop::http
