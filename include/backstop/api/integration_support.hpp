#pragma once

#include <string>

#include <boost/json/object.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/common/error.hpp"
#include "backstop/http/router.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/workflow/gate_flow.hpp"

// What the integration routes share: the gate answer's JSON and counting
// every answer in backstop_integration_requests_total{integration,result}.
namespace backstop::api {

// INTEGRATIONS.md §2.1: {"gate", "release_id", "status", "verdict",
// "reasons", "escalation_id", "would", "evaluated_at"}. verdict and
// evaluated_at come from this process's latest evaluation, else the newest
// decision's evidence, else null.
boost::json::object GateAnswerToJson(const ApiContext& ctx, const workflow::GateOutcome& gate);

// The `result` label of backstop_integration_requests_total for an error:
// invalid, unauthorized, forbidden, conflict, unavailable or error.
std::string ErrorResultLabel(const Error& error);

// Looks up a token that did not come in the Authorization header (Flagger's
// metadata.token) through the app's authenticator, confirmed against the
// database like the router does on a kConfirmed route (a gate decides, so a
// revocation counts from its commit). `done` may run on a database pool
// thread. The token is never logged.
void LookUpToken(ApiContext& ctx, const std::string& token,
                 std::function<void(Result<std::optional<Principal>>)> done);

// Answers `error` and counts it.
void RefuseIntegration(ApiContext& ctx, const char* integration, const http::Respond& respond, const Error& error);

// The deploy-event intakes (CDEvents, GitHub): registers the event's release
// (workflow/release_registration) and answers 201 {"release"}, or 200 with
// the same release for a redelivery.
void RegisterIntake(ApiContext& ctx, const char* integration, store::NewRelease release,
                    const std::string& deployed_by, http::Respond respond);

// 202 {"ignored": why}: an event that is not a deployment.
void IgnoreIntake(ApiContext& ctx, const char* integration, const std::string& why, const http::Respond& respond);

// Runs `step` where no exception may escape (a database pool callback):
// one that does is answered 500 and logged.
void Guarded(ApiContext& ctx, const char* integration, const http::Respond& respond,
             const std::function<void()>& step);

// RunDb for the integration routes: a database error is counted under its
// label; `render` counts what it answers.
template <typename T>
void RunIntegration(ApiContext& ctx, const char* integration, http::Respond respond,
                    std::function<Result<T>(pqxx::connection&)> work, std::function<http::Response(T&)> render) {
  ctx.pool.Submit<T>(
      std::move(work),
      [&ctx, integration, respond = std::move(respond), render = std::move(render)](Result<T> r) {
        if (!r.ok()) return RefuseIntegration(ctx, integration, respond, r.error());
        Guarded(ctx, integration, respond, [&] { respond(render(r.value())); });
      },
      ctx.config.http.request_timeout);
}

}  // namespace backstop::api
