#include "backstop/common/writable_json.hpp"

#include <cmath>
#include <string>

#include <boost/json.hpp>

#include "backstop/common/utf8.hpp"

namespace backstop {

bool IsWritableJson(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_: return std::isfinite(v.get_double());
    case boost::json::kind::string: return IsValidUtf8(v.get_string());
    case boost::json::kind::array:
      for (const auto& e : v.get_array()) {
        if (!IsWritableJson(e)) return false;
      }
      return true;
    case boost::json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (!IsValidUtf8(kv.key()) || !IsWritableJson(kv.value())) return false;
      }
      return true;
    default: return true;
  }
}

void MakeWritableJson(boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_:
      if (!std::isfinite(v.get_double())) v = nullptr;
      return;
    case boost::json::kind::string:
      if (!IsValidUtf8(v.get_string())) v = ToValidUtf8(v.get_string());
      return;
    case boost::json::kind::array:
      for (auto& e : v.get_array()) MakeWritableJson(e);
      return;
    case boost::json::kind::object: {
      boost::json::object& o = v.get_object();
      bool keys_valid = true;
      for (auto& kv : o) {
        MakeWritableJson(kv.value());
        keys_valid = keys_valid && IsValidUtf8(kv.key());
      }
      if (keys_valid) return;
      // Keys cannot be changed in place: rebuild, in order (two keys that
      // repair to the same text keep the later value).
      boost::json::object fixed;
      for (auto& kv : o) fixed[ToValidUtf8(kv.key())] = std::move(kv.value());
      v = std::move(fixed);
      return;
    }
    default: return;
  }
}

}  // namespace backstop
