// POST /v1/escalations/{id}/approve and /reject: parse, run the approval
// flow (workflow/approval_flow) in one transaction, render.
#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/escalation_json.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/common/identifiers.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/workflow/approval_flow.hpp"

namespace backstop::api {

namespace {

constexpr std::size_t kMaxCommentBytes = 4096;

void Handle(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond, approvals::Verdict verdict) {
  const std::string id = rc.params.at(0);
  if (!IsValidIdentifier(id)) return respond(http::ErrorResponse(Error::NotFound("no escalation " + id)));
  auto body = ParseJsonObject(rc.request.body, /*allow_empty=*/true);
  if (!body) return respond(http::ErrorResponse(body.error()));
  if (auto s = RejectUnknownFields(*body, {"comment"}); !s) return respond(http::ErrorResponse(s.error()));
  auto comment = OptionalString(*body, "comment");
  if (!comment) return respond(http::ErrorResponse(comment.error()));
  if (*comment && comment->value().size() > kMaxCommentBytes) {
    return respond(http::ErrorResponse(Error::InvalidInput("comment: at most 4096 bytes", {"comment"})));
  }
  if (verdict == approvals::Verdict::kReject &&
      (!*comment || comment->value().find_first_not_of(" \t\r\n") == std::string::npos)) {
    return respond(http::ErrorResponse(Error::InvalidInput("comment: is required to reject", {"comment"})));
  }
  const std::string actor = rc.principal->name;
  auto& metrics = ctx.metrics;
  workflow::ApprovalRequest request{id, actor, verdict, *comment};
  RunDb<workflow::ApprovalOutcome>(
      ctx, std::move(respond),
      [&ctx, request](pqxx::connection& conn) -> Result<workflow::ApprovalOutcome> {
        pqxx::work tx(conn);
        auto outcome = workflow::DecideEscalation(tx, ctx.config, request);
        if (!outcome) return outcome;
        tx.commit();
        return outcome;
      },
      [&metrics, verdict](workflow::ApprovalOutcome& d) {
        if (d.refused) {
          metrics.CountApproval(d.refused->code);
          return http::ErrorResponse(*d.refused);
        }
        if (verdict == approvals::Verdict::kReject) {
          metrics.CountApproval("rejected");
        } else {
          metrics.CountApproval(d.final ? "approved" : "recorded");
        }
        if (d.final && d.escalation.decided_at) {
          metrics.ObserveTimeToDecision(
              std::chrono::duration<double>(*d.escalation.decided_at - d.escalation.created_at).count());
        }
        boost::json::object body{{"escalation", EscalationToJson(d.escalation)}};
        return http::JsonResponse(200, Serialize(body));
      });
}

}  // namespace

void AddApprovalRoutes(http::Router& router, ApiContext& ctx) {
  router.Add({"POST", "/v1/escalations/{id}/approve", kApprovers, http::BodyPolicy::kOptionalJson,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                Handle(ctx, rc, std::move(respond), approvals::Verdict::kApprove);
              }});
  // Optional at the router so a missing body is the 400 "comment is required".
  router.Add({"POST", "/v1/escalations/{id}/reject", kApprovers, http::BodyPolicy::kOptionalJson,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                Handle(ctx, rc, std::move(respond), approvals::Verdict::kReject);
              }});
}

}  // namespace backstop::api
