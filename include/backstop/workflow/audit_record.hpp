#pragma once

#include <optional>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <pqxx/pqxx>

#include "backstop/audit/audit_kind.hpp"

namespace backstop::workflow {

// Appends one audit entry in `tx`, so the event and its entry commit
// together. The one way workflow steps audit.
void Record(pqxx::work& tx, const std::string& actor, audit::AuditKind kind,
            const std::optional<std::string>& release_id, const boost::json::object& payload);

// A payload field that may be absent: the text, or null.
boost::json::value OptionalText(const std::optional<std::string>& s);

}  // namespace backstop::workflow
