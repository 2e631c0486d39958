#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backstop/common/role.hpp"
#include "backstop/http/auth.hpp"
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

// Runs a task later on the thread (strand) that serves the connection. The
// server gives one with every request.
using Post = std::function<void(std::function<void()>)>;

enum class BodyPolicy { kNone, kOptionalJson, kRequiredJson };

struct RouteSpec {
  std::string method;
  std::string pattern;                 // "/v1/releases/{id}/traffic"
  std::set<Role> roles;                // empty = public, no token needed
  BodyPolicy body = BodyPolicy::kNone;
  Handler handler;
  TokenCheck token_check = TokenCheck::kConfirmed;
};

// Matches method and path, enforces authentication, roles and content type,
// then calls the handler. Exceptions thrown by a handler are caught here and
// answered 500 (the log gets the detail).
//
// A request is matched once: Find returns a Match (the route, its path
// parameters, its metrics label and deadline — or the 404/405 answer) that
// the server reads for its label and timer and then hands to Dispatch.
//
// Order of checks: unknown path → 404; known path, other method → 405 (with
// Allow); then 401 (no/bad token) before 403 (role); then 415 (body not JSON).
//
// Tokens. A route with TokenCheck::kCached or kRecent takes the principal
// from the authenticator's memory when it has one fresh enough (no database
// work; telemetry keeps flowing while PostgreSQL is down); a kConfirmed
// route has the token confirmed by a lookup that starts after the request
// arrived, so a revoked token is refused from the revocation's commit on.
//
// Threads. Dispatch is called on the connection's strand (an HTTP I/O
// thread). A public route, and a kCached or kRecent route whose token is in memory
// (Authenticator::Cached), run the checks and the handler right there,
// inside Dispatch. Otherwise the answer of Authenticator::Lookup arrives on
// a database pool thread; the router never continues on that thread: it
// hands the rest (role check, 415, handler) to `post`, which the server
// implements as a post to the connection's strand. So a handler always runs
// on an HTTP I/O thread, never on a database pool thread. `respond` may be
// called from any thread (handlers answer from pool callbacks); the server
// serializes it.
//
// Thread-safe after construction (routes are added before serving).
class Router {
 private:
  struct Route;

 public:
  // The outcome of matching one request; cheap to move, valid while the
  // router lives.
  class Match {
   public:
    bool found() const { return route_ != nullptr; }
    // The route's pattern (a bounded metrics label), or "unmatched".
    const std::string& label() const;
    // The route's own answer deadline, if it has one.
    std::optional<std::chrono::milliseconds> timeout() const;

   private:
    friend class Router;
    const Route* route_ = nullptr;
    std::vector<std::string> params_;
    std::string allow_;  // methods the path accepts when the method did not match
  };

  explicit Router(Authenticator& authenticator);

  // `timeout` overrides http.request_timeout for this route.
  void Add(RouteSpec spec, std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  Match Find(const std::string& method, const std::string& path) const;

  // (method, pattern) of every route, in the order added (the OpenAPI
  // coverage test reads them).
  std::vector<std::pair<std::string, std::string>> Routes() const;

  // Answers `request` through `respond`, exactly once; see the class comment
  // for the threads involved.
  void Dispatch(Match match, Request request, Respond respond, Post post) const;

 private:
  struct Route {
    RouteSpec spec;
    std::vector<std::string> segments;
    std::optional<std::chrono::milliseconds> timeout;
  };
  static std::vector<std::string> Split(const std::string& path);
  static bool Matches(const Route& r, const std::vector<std::string>& segs,
                      std::vector<std::string>& params);
  // Role check, 415 and the handler, for an authenticated caller.
  static void Authorize(const Route& route, std::shared_ptr<const Request> request,
                        std::vector<std::string> params, Authenticator::Outcome outcome,
                        Respond respond);
  // 415 and the handler.
  static void Invoke(const Route& route, std::shared_ptr<const Request> request,
                     std::vector<std::string> params, std::optional<Principal> principal,
                     Respond respond);

  Authenticator& authenticator_;
  std::vector<Route> routes_;
};

}  // namespace backstop::http
