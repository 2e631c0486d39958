#include "json_schema.hpp"

namespace backstop::testing {

namespace {

const boost::json::value& Resolve(const boost::json::value& schema, const boost::json::value& document) {
  const auto* ref = schema.is_object() ? schema.as_object().if_contains("$ref") : nullptr;
  if (ref == nullptr) return schema;
  std::string pointer(ref->as_string());
  if (pointer.rfind("#", 0) != 0) throw std::runtime_error("only local $ref: " + pointer);
  boost::system::error_code ec;
  const boost::json::value* target = document.find_pointer(pointer.substr(1), ec);
  if (target == nullptr) throw std::runtime_error("unresolved $ref " + pointer);
  return Resolve(*target, document);
}

bool HasType(const boost::json::value& v, std::string_view type) {
  if (type == "null") return v.is_null();
  if (type == "boolean") return v.is_bool();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_int64() || v.is_uint64()) return true;
    return v.is_double() && v.as_double() == static_cast<double>(static_cast<long long>(v.as_double()));
  }
  return false;
}

void Validate(const boost::json::value& v, const boost::json::value& raw_schema, const boost::json::value& doc,
              const std::string& path, std::vector<std::string>& errors) {
  const boost::json::value& schema = Resolve(raw_schema, doc);
  if (!schema.is_object()) return;
  const auto& s = schema.as_object();
  if (const auto* type = s.if_contains("type")) {
    bool ok = false;
    if (type->is_string()) {
      ok = HasType(v, type->as_string());
    } else {
      for (const auto& t : type->as_array()) ok = ok || HasType(v, t.as_string());
    }
    if (!ok) {
      errors.push_back(path + ": expected type " + boost::json::serialize(*type) + ", got " + boost::json::serialize(v));
      return;
    }
  }
  if (const auto* e = s.if_contains("enum")) {
    bool found = false;
    for (const auto& option : e->as_array()) found = found || option == v;
    if (!found) errors.push_back(path + ": " + boost::json::serialize(v) + " not in " + boost::json::serialize(*e));
  }
  if (const auto* c = s.if_contains("const"); c != nullptr && *c != v) {
    errors.push_back(path + ": expected " + boost::json::serialize(*c));
  }
  if (const auto* one = s.if_contains("oneOf")) {
    int matches = 0;
    for (const auto& option : one->as_array()) {
      std::vector<std::string> sub;
      Validate(v, option, doc, path, sub);
      if (sub.empty()) ++matches;
    }
    if (matches != 1) errors.push_back(path + ": matches " + std::to_string(matches) + " of oneOf");
  }
  if (v.is_number()) {
    const double d = v.to_number<double>();
    if (const auto* m = s.if_contains("minimum"); m != nullptr && d < m->to_number<double>()) {
      errors.push_back(path + ": below minimum");
    }
    if (const auto* m = s.if_contains("maximum"); m != nullptr && d > m->to_number<double>()) {
      errors.push_back(path + ": above maximum");
    }
  }
  if (v.is_string()) {
    const auto n = static_cast<std::int64_t>(v.as_string().size());
    if (const auto* m = s.if_contains("minLength"); m != nullptr && n < m->to_number<std::int64_t>()) {
      errors.push_back(path + ": shorter than minLength");
    }
    if (const auto* m = s.if_contains("maxLength"); m != nullptr && n > m->to_number<std::int64_t>()) {
      errors.push_back(path + ": longer than maxLength");
    }
  }
  if (v.is_object()) {
    const auto& o = v.as_object();
    const auto* props = s.if_contains("properties");
    if (const auto* req = s.if_contains("required")) {
      for (const auto& name : req->as_array()) {
        if (!o.contains(name.as_string())) errors.push_back(path + ": missing required " + std::string(name.as_string()));
      }
    }
    for (const auto& [key, value] : o) {
      const boost::json::value* sub = props != nullptr ? props->as_object().if_contains(key) : nullptr;
      if (sub != nullptr) {
        Validate(value, *sub, doc, path + "/" + std::string(key), errors);
      } else if (const auto* extra = s.if_contains("additionalProperties"); extra != nullptr && extra->is_bool() &&
                                                                          !extra->as_bool()) {
        errors.push_back(path + ": unexpected property " + std::string(key));
      }
    }
  }
  if (v.is_array()) {
    if (const auto* items = s.if_contains("items")) {
      const auto& a = v.as_array();
      for (std::size_t i = 0; i < a.size(); ++i) Validate(a[i], *items, doc, path + "/" + std::to_string(i), errors);
    }
  }
}

}  // namespace

std::vector<std::string> ValidateJson(const boost::json::value& instance, const boost::json::value& schema,
                                      const boost::json::value& document) {
  std::vector<std::string> errors;
  Validate(instance, schema, document, "", errors);
  return errors;
}

}  // namespace backstop::testing
