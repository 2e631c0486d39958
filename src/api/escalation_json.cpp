#include "backstop/api/escalation_json.hpp"

#include <boost/json.hpp>

#include "backstop/api/json_codec.hpp"

namespace backstop::api {

boost::json::object EscalationToJson(const store::EscalationRow& e) {
  boost::json::array approvals;
  for (const auto& a : e.approvals) {
    approvals.push_back(boost::json::object{{"by", a.by}, {"at", FormatRfc3339(a.at)}, {"comment", OptionalJson(a.comment)}});
  }
  boost::json::object o;
  o["id"] = e.id;
  o["release_id"] = e.release_id;
  o["service"] = e.service;
  o["environment"] = e.environment;
  o["release_class"] = e.release_class;
  o["proposed_action"] = boost::json::object{
      {"type", decision::ToString(e.proposed_type)}, {"from_version", e.from_version}, {"to_version", OptionalJson(e.to_version)}};
  o["reasons"] = decision::ReasonCodesToJson(e.reasons);
  o["evidence"] = ParseStoredJson(e.evidence);
  o["summary"] = e.summary;
  o["required_approvals"] = e.required_approvals;
  o["approvals"] = std::move(approvals);
  o["state"] = domain::ToString(e.state);
  o["created_at"] = FormatRfc3339(e.created_at);
  o["expires_at"] = FormatRfc3339(e.expires_at);
  o["decided_at"] = e.decided_at ? boost::json::value(FormatRfc3339(*e.decided_at)) : nullptr;
  o["decided_by"] = OptionalJson(e.decided_by);
  o["decision_id"] = OptionalJson(e.decision_id);
  return o;
}

boost::json::object ActionToJson(const store::ActionRow& a) {
  boost::json::object o;
  o["id"] = a.id;
  o["release_id"] = a.release_id;
  o["type"] = decision::ToString(a.action_type);
  o["service"] = a.service;
  o["environment"] = a.environment;
  o["from_version"] = a.from_version;
  o["to_version"] = OptionalJson(a.to_version);
  o["decided_by"] = domain::ToString(a.decided_by);
  boost::json::array approvers;
  for (const auto& name : a.approvers) approvers.emplace_back(name);
  o["approvers"] = std::move(approvers);
  o["reasons"] = decision::ReasonCodesToJson(a.reasons);
  o["state"] = domain::ToString(a.state);
  o["attempts"] = a.attempts;
  o["executor"] = OptionalJson(a.executor);
  o["last_error"] = OptionalJson(a.last_error);
  o["escalation_id"] = OptionalJson(a.escalation_id);
  o["created_at"] = FormatRfc3339(a.created_at);
  o["updated_at"] = FormatRfc3339(a.updated_at);
  return o;
}

boost::json::object DecisionToJson(const store::DecisionRow& d) {
  boost::json::object o;
  o["id"] = d.id;
  o["at"] = FormatRfc3339(d.at);
  o["decision"] = decision::ToString(d.decision);
  o["reasons"] = decision::ReasonCodesToJson(d.reasons);
  o["thresholds_version"] = d.thresholds_version;
  o["mode"] = ModeName(d.mode);
  o["episode"] = d.episode;
  return o;
}

}  // namespace backstop::api
