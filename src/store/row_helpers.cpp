#include "backstop/store/row_helpers.hpp"

#include <boost/json.hpp>

#include "backstop/decision/evaluation_json.hpp"

namespace backstop::store {

std::string TextArrayLiteral(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) out += (out.size() > 1 ? ",\"" : "\"") + item + "\"";
  return out + "}";
}

std::string ReasonsToJson(const std::vector<decision::ReasonCode>& reasons) {
  return boost::json::serialize(decision::ReasonCodesToJson(reasons));
}

std::vector<decision::ReasonCode> ReasonsFromJson(const std::string& json) {
  std::vector<decision::ReasonCode> out;
  for (const auto& name : StringsFromJson(json)) {
    if (auto code = decision::ParseReasonCode(name)) out.push_back(*code);
  }
  return out;
}

std::string StringsToJson(const std::vector<std::string>& items) {
  boost::json::array a;
  for (const auto& s : items) a.emplace_back(s);
  return boost::json::serialize(a);
}

std::vector<std::string> StringsFromJson(const std::string& json) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& x : v.as_array()) {
    if (x.is_string()) out.emplace_back(x.as_string());
  }
  return out;
}

}  // namespace backstop::store
