#pragma once

#include <vector>

#include <boost/json/object.hpp>
#include <pqxx/pqxx>

#include "backstop/api/api_context.hpp"
#include "backstop/http/message.hpp"
#include "backstop/store/decision_repository.hpp"
#include "backstop/store/release_repository.hpp"

namespace backstop::api {

// A release with what the database knows of its decisions.
struct ReleaseView {
  store::Release release;
  std::vector<store::DecisionRow> decisions;
};

ReleaseView LoadView(pqxx::transaction_base& tx, store::Release r);

// The release resource: the release, its evaluation and its decisions. The
// evaluation is this process's latest; without one (another process
// evaluates, or none ran yet) the evidence of the newest decision stands in.
boost::json::object ReleaseResource(const ApiContext& ctx, const ReleaseView& v);

// {"release": resource} with `status`.
http::Response WrapRelease(const ApiContext& ctx, int status, const ReleaseView& v);

}  // namespace backstop::api
