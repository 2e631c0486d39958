// GET /v1/thresholds and POST /v1/thresholds/reload.
#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/workflow/policy_sync.hpp"

namespace backstop::api {

namespace {

boost::json::object OutcomeToJson(const store::FileLoadOutcome& o) {
  boost::json::object j;
  j["file"] = o.file;
  j["release_class"] = o.release_class ? boost::json::value(*o.release_class) : nullptr;
  j["version"] = o.version ? boost::json::value(*o.version) : nullptr;
  j["result"] = o.result;
  if (o.error_code) j["error"] = {{"code", *o.error_code}, {"message", o.error_message.value_or("")}};
  return j;
}

void ListThresholds(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  if (auto s = RejectUnknownParams(rc.request, {"limit", "cursor"}); !s) {
    return respond(http::ErrorResponse(s.error()));
  }
  auto page = ParsePageParams(rc.request);  // the cursor is an offset into the newest-first list
  if (!page) return respond(http::ErrorResponse(page.error()));
  const std::int64_t offset = page->cursor.value_or(0);
  if (offset < 0) return respond(http::ErrorResponse(Error::InvalidInput("cursor: must be >= 0", {"cursor"})));
  RunDb<std::vector<store::StoredThresholdSet>>(
      ctx, std::move(respond),
      [](pqxx::connection& conn) -> Result<std::vector<store::StoredThresholdSet>> {
        pqxx::read_transaction tx(conn);
        return store::ThresholdRepository::ListAll(tx);
      },
      [limit = page->limit, offset](std::vector<store::StoredThresholdSet>& all) {
        boost::json::array items;
        std::int64_t i = offset;
        for (; i < static_cast<std::int64_t>(all.size()) && static_cast<int>(items.size()) < limit; ++i) {
          const auto& s = all[static_cast<std::size_t>(i)];
          items.push_back(boost::json::object{{"release_class", s.release_class},
                                              {"version", s.version},
                                              {"sha256", s.sha256},
                                              {"source_file", s.source_file},
                                              {"loaded_at", FormatRfc3339(s.loaded_at)}});
        }
        const bool more = i < static_cast<std::int64_t>(all.size());
        return ListResponse("threshold_sets", std::move(items), more ? std::optional<std::int64_t>(i) : std::nullopt);
      });
}

void Reload(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const std::string actor = rc.principal->name;
  RunDb<workflow::LoadReport>(
      ctx, std::move(respond),
      [&ctx, actor](pqxx::connection& conn) -> Result<workflow::LoadReport> {
        workflow::LoadReport report = workflow::LoadThresholdDirectory(conn, ctx.config.thresholds_dir, actor, ctx.metrics);
        workflow::RefreshRegistry(conn, ctx.registry, ctx.metrics);
        return report;
      },
      [](workflow::LoadReport& report) {
        boost::json::array files;
        for (const auto& o : report.files) files.push_back(OutcomeToJson(o));
        boost::json::object body{{"files", std::move(files)}};
        return http::JsonResponse(200, Serialize(body));
      });
}

}  // namespace

void AddThresholdRoutes(http::Router& router, ApiContext& ctx) {
  router.Add({"GET", "/v1/thresholds", kReaders, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                ListThresholds(ctx, rc, std::move(respond));
              }});
  router.Add({"POST", "/v1/thresholds/reload", kAdmins, http::BodyPolicy::kOptionalJson,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                Reload(ctx, rc, std::move(respond));
              }});
}

}  // namespace backstop::api
