#include "backstop/workflow/audit_record.hpp"

#include <boost/json.hpp>

#include "backstop/audit/audit_repository.hpp"

namespace backstop::workflow {

void Record(pqxx::work& tx, const std::string& actor, audit::AuditKind kind,
            const std::optional<std::string>& release_id, const boost::json::object& payload) {
  audit::AuditRepository::Append(tx, audit::AuditEvent{actor, kind, release_id, boost::json::serialize(payload)});
}

boost::json::value OptionalText(const std::optional<std::string>& s) {
  return s ? boost::json::value(*s) : boost::json::value(nullptr);
}

}  // namespace backstop::workflow
