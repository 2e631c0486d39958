#include "backstop/api/integration_support.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "backstop/api/json_codec.hpp"
#include "backstop/api/release_json.hpp"
#include "backstop/workflow/release_registration.hpp"
#include "backstop/decision/evaluation_json.hpp"
#include "backstop/evaluator/evaluator.hpp"

namespace backstop::api {

namespace {

struct Registered {
  store::RegisterOutcome outcome;
  ReleaseView view;
};

}  // namespace

void RegisterIntake(ApiContext& ctx, const char* integration, store::NewRelease release,
                    const std::string& deployed_by, http::Respond respond) {
  RunIntegration<Registered>(
      ctx, integration, std::move(respond),
      [&ctx, r = std::move(release), deployed_by](pqxx::connection& conn) -> Result<Registered> {
        pqxx::work tx(conn);
        auto out = workflow::RegisterRelease(tx, ctx.config.notifiers, r, deployed_by);
        if (!out) return out.error();
        ReleaseView view = LoadView(tx, out->release);
        tx.commit();
        return Registered{std::move(out).value(), std::move(view)};
      },
      [&ctx, integration](Registered& reg) {
        if (reg.outcome.created) {
          ctx.metrics.CountDeployment(reg.outcome.release.release_class, reg.outcome.release.environment);
          ctx.evaluator.NotifyRelease(reg.outcome.release);
        }
        ctx.metrics.CountIntegrationRequest(integration, reg.outcome.created ? "registered" : "redelivered");
        return WrapRelease(ctx, reg.outcome.created ? 201 : 200, reg.view);
      });
}

void IgnoreIntake(ApiContext& ctx, const char* integration, const std::string& why, const http::Respond& respond) {
  ctx.metrics.CountIntegrationRequest(integration, "ignored");
  respond(http::JsonResponse(202, Serialize(boost::json::object{{"ignored", why}})));
}

boost::json::object GateAnswerToJson(const ApiContext& ctx, const workflow::GateOutcome& g) {
  boost::json::value verdict = nullptr;
  boost::json::value evaluated_at = nullptr;
  boost::json::value evaluation = nullptr;
  if (auto e = ctx.evaluator.LatestEvaluation(g.release.id)) {
    evaluation = decision::EvaluationToJson(*e);
  } else if (g.newest_evidence) {
    evaluation = ParseStoredJson(*g.newest_evidence);
  }
  if (evaluation.is_object()) {
    if (const auto* v = evaluation.as_object().if_contains("verdict")) verdict = *v;
    if (const auto* v = evaluation.as_object().if_contains("evaluated_at")) evaluated_at = *v;
  }
  const integrations::GateAnswer& a = g.answer;
  boost::json::object o;
  o["gate"] = integrations::ToString(a.gate);
  o["release_id"] = g.release.id;
  o["status"] = domain::ToString(g.release.status);
  o["verdict"] = verdict;
  o["reasons"] = decision::ReasonCodesToJson(a.reasons);
  o["escalation_id"] = OptionalJson(a.escalation_id);
  o["would"] = a.would ? boost::json::value(integrations::ToString(*a.would)) : boost::json::value(nullptr);
  o["evaluated_at"] = evaluated_at;
  return o;
}

std::string ErrorResultLabel(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kInvalidInput:
    case ErrorKind::kUnsupportedMediaType:
    case ErrorKind::kPayloadTooLarge:
      return "invalid";
    case ErrorKind::kUnauthorized: return "unauthorized";
    case ErrorKind::kForbidden: return "forbidden";
    case ErrorKind::kConflict: return "conflict";
    case ErrorKind::kUnavailable: return "unavailable";
    default: return "error";
  }
}

void LookUpToken(ApiContext& ctx, const std::string& token,
                 std::function<void(Result<std::optional<Principal>>)> done) {
  // Confirmed against the database, like the rollout-tool gate routes: a
  // revoked token is refused from the revocation's commit on.
  ctx.authenticator.Lookup(token, http::TokenCheck::kConfirmed, std::move(done));
}

void Guarded(ApiContext& ctx, const char* integration, const http::Respond& respond,
             const std::function<void()>& step) {
  try {
    step();
  } catch (const std::exception& e) {
    spdlog::error("{} integration: {}", integration, e.what());
    RefuseIntegration(ctx, integration, respond, Error::Internal("internal error"));
  }
}

void RefuseIntegration(ApiContext& ctx, const char* integration, const http::Respond& respond, const Error& error) {
  ctx.metrics.CountIntegrationRequest(integration, ErrorResultLabel(error));
  respond(http::ErrorResponse(error));
}

}  // namespace backstop::api
