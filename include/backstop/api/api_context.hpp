#pragma once

#include <functional>
#include <set>
#include <string>
#include <utility>

#include <pqxx/pqxx>

#include "backstop/common/db_clock.hpp"
#include "backstop/common/role.hpp"
#include "backstop/domain/mode.hpp"
#include "backstop/config/config.hpp"
#include "backstop/http/error_response.hpp"
#include "backstop/http/router.hpp"
#include "backstop/policy/policy_registry.hpp"
#include "backstop/store/db_pool.hpp"

namespace backstop::metrics {
class Metrics;
}
namespace backstop::evaluator {
class Evaluator;
}
namespace backstop::telemetry {
class WindowStore;
}

namespace backstop::api {

// Who may call what (DESIGN "Roles and authentication", "Who reads").
inline const std::set<Role> kReaders{Role::kViewer, Role::kDeployer, Role::kApprover, Role::kAdmin};
inline const std::set<Role> kAdmins{Role::kAdmin};
inline const std::set<Role> kDeployers{Role::kDeployer, Role::kAdmin};
inline const std::set<Role> kTelemetryWriters{Role::kDeployer, Role::kTelemetry, Role::kAdmin};
inline const std::set<Role> kApprovers{Role::kApprover, Role::kAdmin};

// What handlers share. Owned by the app; outlives the server.
struct ApiContext {
  store::DbPool& pool;
  metrics::Metrics& metrics;
  const config::Config& config;
  policy::PolicyRegistry& registry;
  telemetry::WindowStore& windows;
  evaluator::Evaluator& evaluator;
  const DbClock& clock;
  std::function<bool()> draining;
  // Routes that carry their token elsewhere than the Authorization header
  // (Flagger's metadata.token) look it up here, like the router does.
  http::Authenticator& authenticator;
  // The GitHub webhook secret, read from integrations.github.secret_env at
  // start-up; empty: every GitHub delivery is refused 401.
  std::string github_secret;
};

// Runs `work` on the database pool within the request timeout and answers
// with `render(value)` or the error. The one way handlers touch the database.
template <typename T>
void RunDb(ApiContext& ctx, http::Respond respond,
           std::function<Result<T>(pqxx::connection&)> work,
           std::function<http::Response(T&)> render) {
  ctx.pool.Submit<T>(
      std::move(work),
      [respond = std::move(respond), render = std::move(render)](Result<T> r) {
        if (!r.ok()) return respond(http::ErrorResponse(r.error()));
        respond(render(r.value()));
      },
      ctx.config.http.request_timeout);
}

void AddSystemRoutes(http::Router& router, ApiContext& ctx);
void AddModeRoutes(http::Router& router, ApiContext& ctx);
void AddAuditRoutes(http::Router& router, ApiContext& ctx);
void AddThresholdRoutes(http::Router& router, ApiContext& ctx);
void AddDeploymentRoutes(http::Router& router, ApiContext& ctx);
void AddTelemetryRoutes(http::Router& router, ApiContext& ctx);
void AddEscalationRoutes(http::Router& router, ApiContext& ctx);
void AddActionRoutes(http::Router& router, ApiContext& ctx);
void AddApprovalRoutes(http::Router& router, ApiContext& ctx);
void AddNotificationRoutes(http::Router& router, ApiContext& ctx);
// INTEGRATIONS.md §2 and §3, one file each.
void AddArgoRolloutsRoutes(http::Router& router, ApiContext& ctx);
void AddFlaggerRoutes(http::Router& router, ApiContext& ctx);
void AddCdeventsRoutes(http::Router& router, ApiContext& ctx);
void AddGithubRoutes(http::Router& router, ApiContext& ctx);
// GET /ui/ and /ui/{file}: the web page, public (src/api/ui_api.cpp).
void AddUiRoutes(http::Router& router, ApiContext& ctx);

}  // namespace backstop::api
