#include "backstop/store/mode_repository.hpp"

#include <boost/json.hpp>

#include "backstop/audit/audit_repository.hpp"
#include "backstop/store/prepared.hpp"

namespace backstop::store {

namespace {
constexpr const char* kSelect = "SELECT mode, updated_by FROM controller_mode";
constexpr const char* kSelectForUpdate = "SELECT mode FROM controller_mode FOR UPDATE";
constexpr const char* kUpdate = "UPDATE controller_mode SET mode = $1, updated_by = $2, updated_at = now()";
}  // namespace

ModeState ModeRepository::Get(pqxx::transaction_base& tx) {
  const pqxx::row row = Exec1(tx, kSelect);
  return ModeState{ParseMode(row[0].as<std::string>()).value_or(Mode::kFreeze),
                   row[1].as<std::string>()};
}

ModeState ModeRepository::GetForShare(pqxx::work& tx) {
  const pqxx::row row = Exec1(tx, "SELECT mode, updated_by FROM controller_mode FOR SHARE");
  return ModeState{ParseMode(row[0].as<std::string>()).value_or(Mode::kFreeze), row[1].as<std::string>()};
}

Mode ModeRepository::Set(pqxx::work& tx, Mode mode, const std::string& actor,
                         const std::optional<std::string>& reason) {
  const pqxx::row row = Exec1(tx, kSelectForUpdate);
  // An unreadable stored mode is treated as freeze: the safe reading.
  const Mode previous = ParseMode(row[0].as<std::string>()).value_or(Mode::kFreeze);
  if (previous == mode) return previous;
  Exec0(tx, kUpdate, std::string(ModeName(mode)), actor);
  boost::json::object payload{{"from", ModeName(previous)}, {"to", ModeName(mode)}};
  if (reason) payload["reason"] = *reason;
  audit::AuditRepository::Append(
      tx, audit::AuditEvent{actor, audit::AuditKind::kModeChanged, std::nullopt, boost::json::serialize(payload)});
  return previous;
}

}  // namespace backstop::store
