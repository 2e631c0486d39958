#include "backstop/api/release_json.hpp"

#include <boost/json.hpp>

#include "backstop/api/escalation_json.hpp"
#include "backstop/api/json_codec.hpp"
#include "backstop/decision/evaluation_json.hpp"
#include "backstop/evaluator/evaluator.hpp"

namespace backstop::api {

ReleaseView LoadView(pqxx::transaction_base& tx, store::Release r) {
  auto decisions = store::DecisionRepository::ListForRelease(tx, r.id);
  return ReleaseView{std::move(r), std::move(decisions)};
}

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

}  // namespace backstop::api
