// GET/PUT /v1/mode: the controller mode (normal | dry_run | freeze).
#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/store/mode_repository.hpp"

namespace backstop::api {

namespace {
// Why the mode changed, recorded in the audit log (an incident note, not an essay).
constexpr std::size_t kMaxReasonBytes = 1024;

http::Response RenderMode(Mode& mode) {
  boost::json::object body{{"mode", ModeName(mode)}};
  return http::JsonResponse(200, Serialize(body));
}

}  // namespace

void AddModeRoutes(http::Router& router, ApiContext& ctx) {
  router.Add({"GET", "/v1/mode", kReaders, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext&, http::Respond respond) {
                RunDb<Mode>(
                    ctx, std::move(respond),
                    [](pqxx::connection& conn) -> Result<Mode> {
                      pqxx::read_transaction tx(conn);
                      return store::ModeRepository::Get(tx).mode;
                    },
                    RenderMode);
              }});

  router.Add({"PUT", "/v1/mode", kAdmins, http::BodyPolicy::kRequiredJson,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                auto body = ParseJsonObject(rc.request.body);
                if (!body) return respond(http::ErrorResponse(body.error()));
                if (auto s = RejectUnknownFields(*body, {"mode", "reason"}); !s) {
                  return respond(http::ErrorResponse(s.error()));
                }
                const auto* v = body->if_contains("mode");
                std::optional<Mode> mode;
                if (v != nullptr && v->is_string()) mode = ParseMode(std::string(v->as_string()));
                if (!mode) {
                  return respond(http::ErrorResponse(Error::InvalidInput(
                      "mode: must be one of normal, dry_run, freeze", {"mode"})));
                }
                auto reason = OptionalString(*body, "reason");
                if (!reason) return respond(http::ErrorResponse(reason.error()));
                if (*reason && reason->value().size() > kMaxReasonBytes) {
                  return respond(http::ErrorResponse(Error::InvalidInput("reason: at most 1024 bytes", {"reason"})));
                }
                const std::string actor = rc.principal->name;
                RunDb<Mode>(
                    ctx, std::move(respond),
                    [mode = *mode, actor, reason = *reason](pqxx::connection& conn) -> Result<Mode> {
                      pqxx::work tx(conn);
                      store::ModeRepository::Set(tx, mode, actor, reason);
                      tx.commit();
                      return mode;
                    },
                    RenderMode);
              }});
}

}  // namespace backstop::api
