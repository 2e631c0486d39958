#include "backstop/cli/rest_output.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include <boost/json.hpp>

#include "backstop/decision/reason_code.hpp"

namespace backstop::cli {

namespace {

const boost::json::value* Field(const boost::json::value& v, const char* key) {
  if (!v.is_object()) return nullptr;
  return v.as_object().if_contains(key);
}

std::string Number(double d) {
  std::ostringstream out;
  out << std::setprecision(6) << d;
  return out.str();
}

// Any scalar as text; null or absent as "-".
std::string Text(const boost::json::value* v) {
  if (v == nullptr || v->is_null()) return "-";
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_bool()) return v->as_bool() ? "true" : "false";
  if (v->is_number()) return Number(v->to_number<double>());
  return boost::json::serialize(*v);
}

std::string Text(const boost::json::value& v, const char* key) { return Text(Field(v, key)); }

std::string Join(const boost::json::value* array, const char* separator) {
  if (array == nullptr || !array->is_array() || array->as_array().empty()) return "-";
  std::string out;
  for (const auto& item : array->as_array()) out += (out.empty() ? "" : separator) + Text(&item);
  return out;
}

const boost::json::array& Items(const boost::json::value& answer, const char* key) {
  static const boost::json::array kEmpty;
  const auto* v = Field(answer, key);
  return v != nullptr && v->is_array() ? v->as_array() : kEmpty;
}

const boost::json::value& Resource(const boost::json::value& answer, const char* key) {
  static const boost::json::value kNull;
  const auto* v = Field(answer, key);
  return v != nullptr ? *v : kNull;
}

std::string Versions(const boost::json::value& from, const boost::json::value& to) {
  return Text(&from) + " -> " + Text(&to);
}

std::string Aggregate(const boost::json::value* a) {
  if (a == nullptr || a->is_null()) return "-";
  return Text(*a, "value") + " (" + Text(*a, "samples") + " samples)";
}

std::string Bound(const boost::json::value& signal) {
  const auto* bound = Field(signal, "bound");
  if (bound == nullptr || bound->is_null()) return "-";
  return (Text(signal, "bad_when") == "below" ? ">= " : "<= ") + Text(bound);
}

std::string ReasonsInWords(const boost::json::value* reasons) {
  if (reasons == nullptr || !reasons->is_array()) return "";
  std::string out;
  for (const auto& r : reasons->as_array()) {
    const std::string code = Text(&r);
    const auto parsed = decision::ParseReasonCode(code);
    out += "  " + code + ": " + std::string(parsed ? decision::Explain(*parsed) : "unknown reason") + "\n";
  }
  return out;
}

std::string Evidence(const boost::json::value& evaluation) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : Items(evaluation, "signals")) {
    rows.push_back({Text(s, "name"), Text(s, "source"), Text(s, "state"), Aggregate(Field(s, "canary")),
                    Aggregate(Field(s, "baseline")), Bound(s), Text(s, "p_value")});
  }
  std::string out = "verdict: " + Text(evaluation, "verdict") + "  (evaluated " + Text(evaluation, "evaluated_at") +
                    ")\n";
  out += FormatTable({"SIGNAL", "SOURCE", "STATE", "CANARY", "BASELINE", "BOUND", "P-VALUE"}, rows);
  const std::string conflicts = Join(Field(evaluation, "conflicts"), ", ");
  if (conflicts != "-") out += "conflicts: " + conflicts + "\n";
  return out;
}

}  // namespace

std::string FormatTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size(), 0);
  const auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::string out;
  const auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < width.size()) line += std::string(width[i] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  print(header);
  for (const auto& r : rows) print(r);
  return out;
}

std::string FormatEscalationList(const boost::json::value& answer) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : Items(answer, "escalations")) {
    const auto& action = Resource(e, "proposed_action");
    const std::string approvals = std::to_string(Items(e, "approvals").size()) + "/" + Text(e, "required_approvals");
    rows.push_back({Text(e, "id"), Text(e, "state"), Text(e, "service") + "/" + Text(e, "environment"),
                    Versions(Resource(action, "from_version"), Resource(action, "to_version")),
                    Text(e, "release_class"), Join(Field(e, "reasons"), ","), approvals, Text(e, "expires_at")});
  }
  if (rows.empty()) return "no escalations\n";
  return FormatTable({"ID", "STATE", "SERVICE/ENV", "FROM -> TO", "CLASS", "REASONS", "APPROVALS", "EXPIRES"}, rows);
}

std::string FormatEscalation(const boost::json::value& answer) {
  const auto& e = Resource(answer, "escalation");
  const auto& action = Resource(e, "proposed_action");
  std::string out;
  out += "escalation " + Text(e, "id") + " (" + Text(e, "state") + ")\n";
  out += "release:   " + Text(e, "release_id") + "  " + Text(e, "service") + " in " + Text(e, "environment") +
         ", class " + Text(e, "release_class") + "\n";
  out += "proposed:  " + Text(action, "type") + " " + Versions(Resource(action, "from_version"), Resource(action, "to_version")) +
         "\n";
  out += "approvals: " + std::to_string(Items(e, "approvals").size()) + " of " + Text(e, "required_approvals") +
         " required";
  for (const auto& a : Items(e, "approvals")) out += "; " + Text(a, "by") + " at " + Text(a, "at");
  out += "\n";
  out += "expires:   " + Text(e, "expires_at") + "\n";
  out += "summary:   " + Text(e, "summary") + "\n";
  out += "reasons:\n" + ReasonsInWords(Field(e, "reasons"));
  const auto& evidence = Resource(e, "evidence");
  if (!Items(evidence, "signals").empty()) out += "evidence:\n" + Evidence(evidence);
  return out;
}

std::string FormatReleaseList(const boost::json::value& answer) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : Items(answer, "releases")) {
    rows.push_back({Text(r, "id"), Text(r, "service") + "/" + Text(r, "environment"),
                    Versions(Resource(r, "previous_version"), Resource(r, "version")), Text(r, "release_class"),
                    Text(r, "traffic_percent"), Text(r, "status"), Text(r, "started_at")});
  }
  if (rows.empty()) return "no releases\n";
  return FormatTable({"ID", "SERVICE/ENV", "PREVIOUS -> VERSION", "CLASS", "TRAFFIC%", "STATUS", "STARTED"}, rows);
}

std::string FormatRelease(const boost::json::value& answer) {
  const auto& r = Resource(answer, "release");
  std::string out;
  out += "release " + Text(r, "id") + " (" + Text(r, "status") + ")\n";
  out += "service:   " + Text(r, "service") + " in " + Text(r, "environment") + "\n";
  out += "version:   " + Versions(Resource(r, "previous_version"), Resource(r, "version")) + "\n";
  out += "class:     " + Text(r, "release_class") + " v" + Text(r, "thresholds_version") + ", traffic " +
         Text(r, "traffic_percent") + "%\n";
  out += "deployed:  by " + Text(r, "deployed_by") + " at " + Text(r, "started_at") + "\n";
  const auto& evaluation = Resource(r, "evaluation");
  if (!evaluation.is_null()) out += "evaluation:\n" + Evidence(evaluation);
  std::vector<std::vector<std::string>> decisions;
  for (const auto& d : Items(r, "decisions")) {
    decisions.push_back({Text(d, "at"), Text(d, "decision"), Join(Field(d, "reasons"), ",")});
  }
  if (!decisions.empty()) out += "decisions:\n" + FormatTable({"AT", "DECISION", "REASONS"}, decisions);
  return out;
}

std::string FormatMode(const boost::json::value& answer) { return "mode: " + Text(answer, "mode") + "\n"; }

std::string FormatVerify(const boost::json::value& answer) {
  const bool ok = Field(answer, "ok") != nullptr && Field(answer, "ok")->is_bool() && Field(answer, "ok")->as_bool();
  if (ok) return "audit chain ok: " + Text(answer, "checked") + " entries verified\n";
  return "audit chain BROKEN at seq " + Text(answer, "first_bad_seq") + " (" + Text(answer, "checked") +
         " entries verified before it)\n";
}

}  // namespace backstop::cli
