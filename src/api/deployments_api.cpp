// POST /v1/deployments, POST /v1/releases/{id}/traffic, GET /v1/releases[/{id}].
#include <cmath>

#include <boost/json.hpp>

#include "backstop/api/api_context.hpp"
#include "backstop/api/escalation_json.hpp"
#include "backstop/evaluator/evaluator.hpp"
#include "backstop/store/decision_repository.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/common/identifiers.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/store/release_repository.hpp"
#include "backstop/workflow/release_registration.hpp"

namespace backstop::api {

namespace {

// Metadata is free-form context for humans; bounded so it cannot bloat rows.
constexpr std::size_t kMaxMetadataBytes = 16384;

// Collects every problem with a body so the client fixes them in one go.
class FieldErrors {
 public:
  void Add(const std::string& field, const std::string& reason) {
    fields_.push_back(field);
    messages_.push_back(field + ": " + reason);
  }
  bool empty() const { return fields_.empty(); }
  Error ToError() const {
    std::string message;
    for (const auto& m : messages_) message += (message.empty() ? "" : "; ") + m;
    return Error::InvalidInput(message, fields_);
  }

 private:
  std::vector<std::string> fields_;
  std::vector<std::string> messages_;
};

std::optional<std::string> Identifier(const boost::json::object& o, const char* field, bool required,
                                      FieldErrors& errors) {
  const auto* v = o.if_contains(field);
  if (v == nullptr || (v->is_null() && !required)) {
    if (required) errors.Add(field, "is required");
    return std::nullopt;
  }
  if (!v->is_string() || !IsValidIdentifier(v->as_string())) {
    errors.Add(field, v->is_string() ? kIdentifierRule : std::string("must be a string; ") + kIdentifierRule);
    return std::nullopt;
  }
  return std::string(v->as_string());
}

std::optional<double> TrafficPercent(const boost::json::object& o, FieldErrors& errors) {
  const auto* v = o.if_contains("traffic_percent");
  if (v == nullptr) {
    errors.Add("traffic_percent", "is required");
    return std::nullopt;
  }
  if (!v->is_number()) {
    errors.Add("traffic_percent", "must be a number from 0 to 100");
    return std::nullopt;
  }
  const double d = v->to_number<double>();
  if (!std::isfinite(d) || d < 0 || d > 100) {
    errors.Add("traffic_percent", "must be a number from 0 to 100");
    return std::nullopt;
  }
  return d;
}

Result<store::NewRelease> ParseDeployment(const boost::json::object& o,
                                          const policy::PolicyRegistry& registry) {
  if (auto s = RejectUnknownFields(o, {"id", "service", "environment", "version", "previous_version",
                                       "release_class", "traffic_percent", "shared_infrastructure",
                                       "triggered_by", "metadata"});
      !s) {
    return s.error();
  }
  FieldErrors errors;
  store::NewRelease r;
  if (o.contains("id")) {
    auto id = Identifier(o, "id", true, errors);
    if (id) {
      r.id = *id;
      r.id_from_client = true;
    }
  } else {
    r.id = NewUuid();
  }
  r.service = Identifier(o, "service", true, errors).value_or("");
  r.environment = Identifier(o, "environment", true, errors).value_or("");
  r.version = Identifier(o, "version", true, errors).value_or("");
  r.previous_version = Identifier(o, "previous_version", false, errors);
  if (r.previous_version && *r.previous_version == r.version) {
    errors.Add("previous_version", "must differ from version");
  }
  if (auto cls = Identifier(o, "release_class", true, errors)) {
    if (!registry.Newest(*cls)) {
      errors.Add("release_class", "unknown release class " + *cls);
    } else {
      r.release_class = *cls;
    }
  }
  r.traffic_percent = TrafficPercent(o, errors).value_or(0);
  if (const auto* v = o.if_contains("shared_infrastructure"); v != nullptr && !v->is_null()) {
    if (!v->is_bool()) {
      errors.Add("shared_infrastructure", "must be true or false");
    } else {
      r.shared_infrastructure = v->as_bool();
    }
  }
  r.triggered_by = Identifier(o, "triggered_by", false, errors);
  if (const auto* v = o.if_contains("metadata"); v != nullptr && !v->is_null()) {
    if (!v->is_object()) {
      errors.Add("metadata", "must be a JSON object");
    } else {
      std::string text = boost::json::serialize(*v);
      if (text.size() > kMaxMetadataBytes) {
        errors.Add("metadata", "must be at most " + std::to_string(kMaxMetadataBytes) + " bytes");
      } else {
        r.metadata = std::move(text);
      }
    }
  }
  if (!errors.empty()) return errors.ToError();
  r.request_body = boost::json::serialize(o);
  return r;
}

// A release with what the database knows of its decisions.
struct ReleaseView {
  store::Release release;
  std::vector<store::DecisionRow> decisions;
};

ReleaseView LoadView(pqxx::transaction_base& tx, store::Release r) {
  auto decisions = store::DecisionRepository::ListForRelease(tx, r.id);
  return ReleaseView{std::move(r), std::move(decisions)};
}

// The evaluation is this process's latest; without one (another process
// evaluates, or none ran yet) the evidence of the newest decision stands in.
boost::json::object ReleaseResource(const ApiContext& ctx, const ReleaseView& v) {
  boost::json::object o = ReleaseToJson(v.release);
  if (auto e = ctx.evaluator.LatestEvaluation(v.release.id)) {
    o["evaluation"] = decision::EvaluationToJson(*e);
  } else if (!v.decisions.empty()) {
    o["evaluation"] = ParseStoredJson(v.decisions.front().evidence);
  } else {
    o["evaluation"] = nullptr;
  }
  boost::json::array decisions;
  for (const auto& d : v.decisions) decisions.push_back(DecisionToJson(d));
  o["decisions"] = std::move(decisions);
  return o;
}

http::Response WrapRelease(const ApiContext& ctx, int status, const ReleaseView& v) {
  boost::json::object body{{"release", ReleaseResource(ctx, v)}};
  return http::JsonResponse(status, Serialize(body));
}

void PostDeployment(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  auto body = ParseJsonObject(rc.request.body);
  if (!body) return respond(http::ErrorResponse(body.error()));
  auto parsed = ParseDeployment(*body, ctx.registry);
  if (!parsed) return respond(http::ErrorResponse(parsed.error()));
  const std::string deployed_by = rc.principal->name;
  struct Registered {
    store::RegisterOutcome outcome;
    ReleaseView view;
  };
  RunDb<Registered>(
      ctx, std::move(respond),
      [r = std::move(parsed).value(), deployed_by](pqxx::connection& conn) -> Result<Registered> {
        pqxx::work tx(conn);
        auto out = workflow::RegisterRelease(tx, r, deployed_by);
        if (!out) return out.error();
        // A release just created has no decisions to read back.
        ReleaseView view = out->created ? ReleaseView{out->release, {}} : LoadView(tx, out->release);
        tx.commit();
        return Registered{std::move(out).value(), std::move(view)};
      },
      [&ctx](Registered& reg) {
        if (reg.outcome.created) {
          ctx.metrics.CountDeployment(reg.outcome.release.release_class, reg.outcome.release.environment);
          ctx.evaluator.NotifyRelease(reg.outcome.release);
        }
        return WrapRelease(ctx, reg.outcome.created ? 201 : 200, reg.view);
      });
}

void PostTraffic(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const std::string id = rc.params.at(0);
  if (!IsValidReleaseId(id)) return respond(http::ErrorResponse(Error::NotFound("no release " + id)));
  auto body = ParseJsonObject(rc.request.body);
  if (!body) return respond(http::ErrorResponse(body.error()));
  if (auto s = RejectUnknownFields(*body, {"traffic_percent"}); !s) {
    return respond(http::ErrorResponse(s.error()));
  }
  FieldErrors errors;
  const auto traffic = TrafficPercent(*body, errors);
  if (!errors.empty()) return respond(http::ErrorResponse(errors.ToError()));
  const std::string actor = rc.principal->name;
  RunDb<ReleaseView>(
      ctx, std::move(respond),
      [id, traffic = *traffic, actor](pqxx::connection& conn) -> Result<ReleaseView> {
        pqxx::work tx(conn);
        auto r = workflow::ChangeTraffic(tx, id, traffic, actor);
        if (!r) return r.error();
        ReleaseView view = LoadView(tx, std::move(r).value());
        tx.commit();
        return view;
      },
      [&ctx](ReleaseView& v) {
        ctx.evaluator.NotifyRelease(v.release);
        return WrapRelease(ctx, 200, v);
      });
}

void ListReleases(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const auto& req = rc.request;
  if (auto s = RejectUnknownParams(req, {"service", "environment", "status", "limit", "cursor"}); !s) {
    return respond(http::ErrorResponse(s.error()));
  }
  store::ReleaseQuery q;
  auto page = ParsePageParams(req);
  if (!page) return respond(http::ErrorResponse(page.error()));
  q.limit = page->limit;
  q.before_seq = page->cursor;
  for (auto [name, out] : {std::pair<const char*, std::optional<std::string>*>{"service", &q.service},
                           {"environment", &q.environment}}) {
    if (auto s = ReadIdentifierParam(req, name, *out); !s) return respond(http::ErrorResponse(s.error()));
  }
  if (auto st = req.Query("status")) {
    q.status = domain::ParseReleaseStatus(*st);
    if (!q.status) {
      return respond(http::ErrorResponse(Error::InvalidInput("status: unknown release status " + *st, {"status"})));
    }
  }
  struct ViewPage {
    std::vector<ReleaseView> views;
    std::optional<std::int64_t> next;
  };
  RunDb<ViewPage>(
      ctx, std::move(respond),
      [q](pqxx::connection& conn) -> Result<ViewPage> {
        pqxx::read_transaction tx(conn);
        store::ReleasePage page = store::ReleaseRepository::List(tx, q);
        std::vector<std::string> ids;
        for (const auto& r : page.items) ids.push_back(r.id);
        auto decisions = store::DecisionRepository::ListForReleases(tx, ids);
        ViewPage out{{}, page.next};
        for (auto& r : page.items) {
          auto d = std::move(decisions[r.id]);
          out.views.push_back(ReleaseView{std::move(r), std::move(d)});
        }
        return out;
      },
      [&ctx](ViewPage& page) {
        boost::json::array items;
        for (const auto& v : page.views) items.push_back(ReleaseResource(ctx, v));
        return ListResponse("releases", std::move(items), page.next);
      });
}

void GetRelease(ApiContext& ctx, const http::RequestContext& rc, http::Respond respond) {
  const std::string id = rc.params.at(0);
  if (!IsValidReleaseId(id)) return respond(http::ErrorResponse(Error::NotFound("no release " + id)));
  RunDb<ReleaseView>(
      ctx, std::move(respond),
      [id](pqxx::connection& conn) -> Result<ReleaseView> {
        pqxx::read_transaction tx(conn);
        auto r = store::ReleaseRepository::Find(tx, id);
        if (!r) return Error::NotFound("no release " + id);
        return LoadView(tx, std::move(*r));
      },
      [&ctx](ReleaseView& v) { return WrapRelease(ctx, 200, v); });
}

}  // namespace

void AddDeploymentRoutes(http::Router& router, ApiContext& ctx) {
  router.Add({"POST", "/v1/deployments", kDeployers, http::BodyPolicy::kRequiredJson,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                PostDeployment(ctx, rc, std::move(respond));
              }});
  router.Add({"POST", "/v1/releases/{id}/traffic", kDeployers, http::BodyPolicy::kRequiredJson,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                PostTraffic(ctx, rc, std::move(respond));
              }});
  router.Add({"GET", "/v1/releases", kReaders, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                ListReleases(ctx, rc, std::move(respond));
              }});
  router.Add({"GET", "/v1/releases/{id}", kReaders, http::BodyPolicy::kNone,
              [&ctx](const http::RequestContext& rc, http::Respond respond) {
                GetRelease(ctx, rc, std::move(respond));
              }});
}

}  // namespace backstop::api
