// GET /v1/audit and GET /v1/audit/verify.
#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/audit/audit_repository.hpp"
#include "backstop/audit/audit_sealer.hpp"
#include "backstop/common/identifiers.hpp"

namespace backstop::api {

namespace {

// Verification walks the whole chain; it may take longer than a request.
constexpr Millis kVerifyTimeout{120000};

bool IsHexHash(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void ListAudit(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const auto& req = rc.request;
  if (auto s = RejectUnknownParams(req, {"release_id", "after", "limit", "cursor"}); !s) {
    return respond(http::ErrorResponse(s.error()));
  }
  audit::AuditQuery q;
  auto page = ParsePageParams(req);
  if (!page) return respond(http::ErrorResponse(page.error()));
  q.limit = page->limit;
  q.before = page->cursor;
  auto after = ParseIntParam(req, "after");
  if (!after) return respond(http::ErrorResponse(after.error()));
  q.after = *after;
  if (auto s = ReadIdentifierParam(req, "release_id", q.release_id); !s) {
    return respond(http::ErrorResponse(s.error()));
  }
  RunDb<audit::AuditPage>(
      ctx, std::move(respond),
      [q](pqxx::connection& conn) -> Result<audit::AuditPage> {
        // Lists show sealed entries; sealing first shows every entry
        // committed before this request.
        audit::SealCommitted(conn);
        pqxx::read_transaction tx(conn);
        return audit::AuditRepository::List(tx, q);
      },
      [](audit::AuditPage& page) {
        boost::json::array entries;
        for (const auto& e : page.items) entries.push_back(AuditEntryToJson(e));
        return ListResponse("entries", std::move(entries), page.next);
      });
}

void VerifyAudit(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const auto& req = rc.request;
  if (auto s = RejectUnknownParams(req, {"head_seq", "head_hash"}); !s) {
    return respond(http::ErrorResponse(s.error()));
  }
  auto head_seq = ParseIntParam(req, "head_seq");
  if (!head_seq) return respond(http::ErrorResponse(head_seq.error()));
  const auto head_hash = req.Query("head_hash");
  if (head_seq.value().has_value() != head_hash.has_value()) {
    return respond(http::ErrorResponse(Error::InvalidInput(
        "head_seq and head_hash go together", {head_seq.value() ? "head_hash" : "head_seq"})));
  }
  std::optional<audit::AuditHead> head;
  if (head_hash) {
    if (!IsHexHash(*head_hash)) {
      return respond(http::ErrorResponse(
          Error::InvalidInput("head_hash: must be 64 lower-case hex characters", {"head_hash"})));
    }
    if (*head_seq.value() < 1) {
      return respond(http::ErrorResponse(Error::InvalidInput("head_seq: must be at least 1", {"head_seq"})));
    }
    head = audit::AuditHead{*head_seq.value(), *head_hash};
  }
  // Verification walks the whole chain: give it more time than a request.
  ctx.pool.Submit<audit::VerifyResult>(
      [head](pqxx::connection& conn) -> Result<audit::VerifyResult> {
        audit::SealCommitted(conn);  // verify every entry committed before this request
        // One snapshot for the whole walk, so concurrent appends do not interleave.
        pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> tx(conn);
        return audit::AuditRepository::Verify(tx, head);
      },
      [respond](Result<audit::VerifyResult> r) {
        if (!r.ok()) return respond(http::ErrorResponse(r.error()));
        boost::json::object body{{"ok", r->ok}, {"checked", r->checked}};
        if (r->first_bad_seq) body["first_bad_seq"] = *r->first_bad_seq;
        respond(http::JsonResponse(200, Serialize(body)));
      },
      kVerifyTimeout);
}

}  // namespace

void AddAuditRoutes(http::Router& router, ApiContext& ctx) {
  router.Add({"GET", "/v1/audit", kReaders, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                ListAudit(ctx, rc, std::move(respond));
              }});
  router.Add({"GET", "/v1/audit/verify", kReaders, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                VerifyAudit(ctx, rc, std::move(respond));
              }},
             kVerifyTimeout);
}

}  // namespace backstop::api
