// POST /v1/escalations/{id}/approve and /reject: the human decision, bound
// to the escalation's intent, checked and written in one transaction that
// holds the escalation row lock.
#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/escalation_json.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/approvals/approval_rules.hpp"
#include "backstop/audit/audit_repository.hpp"
#include "backstop/common/identifiers.hpp"
#include "backstop/config/executor_match.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/store/decision_repository.hpp"
#include "backstop/store/release_repository.hpp"

namespace backstop::api {

namespace {

constexpr std::size_t kMaxCommentBytes = 4096;

struct Decided {
  store::EscalationRow escalation;
  bool final = false;  // approved (enough approvals) or rejected
  std::optional<Error> refused;
};

void Audit(pqxx::work& tx, const std::string& actor, const std::string& kind, const std::string& release_id,
           boost::json::object payload) {
  audit::AuditRepository::Append(tx, audit::AuditEvent{actor, kind, release_id, boost::json::serialize(payload)});
}

// Expires a pending escalation found past its expiry during a decision (the
// tick may not have run yet); the caller still answers 409 expired.
void ExpireNow(pqxx::work& tx, const store::EscalationRow& e, const std::string& actor) {
  if (store::EscalationRepository::MarkExpired(tx, e.id, e.release_id)) {
    Audit(tx, actor, "escalation.expired", e.release_id, {{"escalation_id", e.id}});
  }
}

Result<Decided> DecideInTransaction(pqxx::connection& conn, const config::Config& config, const std::string& id,
                                    const std::string& actor, approvals::Verdict verdict,
                                    const std::optional<std::string>& comment) {
  pqxx::work tx(conn);
  // Lock order: the release row, then the escalation row, then the audit head.
  auto unlocked = store::EscalationRepository::Find(tx, id);
  if (!unlocked) return Error::NotFound("no escalation " + id);
  auto release = store::ReleaseRepository::Lock(tx, unlocked->release_id);
  if (!release) return Error::Internal("escalation without release");
  auto esc = store::EscalationRepository::Find(tx, id, /*for_update=*/true);
  const pqxx::row facts_row = tx.exec_params1(
      "SELECT (SELECT expires_at <= now() FROM escalations WHERE id = $1), "
      "(SELECT id FROM releases WHERE service = $2 AND environment = $3 ORDER BY seq DESC LIMIT 1)",
      id, release->service, release->environment);

  approvals::ApprovalFacts facts;
  facts.escalation_state = esc->state;
  facts.expired_now = facts_row[0].as<bool>();
  facts.actor = actor;
  facts.deployed_by = release->deployed_by;
  facts.triggered_by = release->triggered_by;
  for (const auto& a : esc->approvals) facts.approvers.push_back(a.by);
  facts.release_is_current = facts_row[1].as<std::string>() == release->id;
  facts.proposes_rollback = esc->proposed_type == "rollback";
  facts.proposed_from_version = esc->from_version;
  facts.proposed_to_version = esc->to_version;
  facts.release_version = release->version;
  facts.release_previous_version = release->previous_version;

  if (auto refused = approvals::CheckDecision(facts, verdict)) {
    if (refused->code == "expired" && esc->state == "pending") {
      ExpireNow(tx, *esc, actor);
      tx.commit();
    }
    return Decided{*esc, false, refused};
  }

  Decided out;
  if (verdict == approvals::Verdict::kReject) {
    tx.exec_params0("UPDATE escalations SET state = 'rejected', decided_at = now(), decided_by = $2, comment = $3 "
                    "WHERE id = $1",
                    id, actor, comment);
    // Kept: the release runs on and is not rolled back in this episode.
    // (A rolled-back release whose verification escalated stays rolled_back.)
    tx.exec_params0("UPDATE releases SET status = 'rollback_rejected', updated_at = now() WHERE id = $1 "
                    "AND status IN ('escalated', 'rollback_failed')",
                    release->id);
    Audit(tx, actor, "escalation.rejected", release->id,
          {{"escalation_id", id}, {"comment", comment ? boost::json::value(*comment) : nullptr}});
    out.final = true;
  } else {
    tx.exec_params0("INSERT INTO approvals (escalation_id, approver, comment) VALUES ($1, $2, $3)", id, actor,
                    comment);
    facts.approvers.push_back(actor);
    const int have = static_cast<int>(facts.approvers.size());
    Audit(tx, actor, "escalation.approval_recorded", release->id,
          {{"escalation_id", id},
           {"approvals", have},
           {"required_approvals", esc->required_approvals},
           {"comment", comment ? boost::json::value(*comment) : nullptr}});
    if (have >= esc->required_approvals) {
      boost::json::array approvers;
      std::string approvers_text;
      for (const auto& a : facts.approvers) {
        approvers.emplace_back(a);
        approvers_text += (approvers_text.empty() ? "" : ",") + a;
      }
      tx.exec_params0("UPDATE escalations SET state = 'approved', decided_at = now(), decided_by = $2 WHERE id = $1",
                      id, approvers_text);
      boost::json::object payload{{"escalation_id", id}, {"approvers", approvers}};
      if (esc->proposed_type == "rollback") {
        // The approved intent: exactly the versions the escalation proposed.
        store::NewAction a = store::RollbackAction(*release, "approval", esc->reasons,
                                                   config::ExecutorName(config, release->service));
        a.decision_id = esc->decision_id;
        a.escalation_id = id;
        a.from_version = esc->from_version;
        a.to_version = esc->to_version;
        a.approvers = boost::json::serialize(approvers);
        const store::ActionRow action = store::ActionRepository::Queue(tx, a);
        tx.exec_params0("UPDATE releases SET status = 'rolling_back', updated_at = now() WHERE id = $1",
                        release->id);
        payload["action_id"] = action.id;
      } else {
        // Containment (irreversible classes) has no automatic executor: the
        // approval is the recorded decision; people carry it out.
        payload["containment"] = "recorded; no executor runs containment";
      }
      Audit(tx, actor, "escalation.approved", release->id, std::move(payload));
      out.final = true;
    }
  }
  out.escalation = *store::EscalationRepository::Find(tx, id);
  tx.commit();
  return out;
}

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
  RunDb<Decided>(
      ctx, std::move(respond),
      [&ctx, id, actor, verdict, c = *comment](pqxx::connection& conn) {
        return DecideInTransaction(conn, ctx.config, id, actor, verdict, c);
      },
      [&metrics, verdict](Decided& d) {
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
