#include "backstop/store/schema_access.hpp"

namespace backstop::store {

namespace {

constexpr const char* kCurrentRole = "SELECT current_user";
constexpr const char* kCurrentSchema = "SELECT current_schema()";
// The owner of a table's schema may drop the table, so owning the schema
// (in PostgreSQL 15 `public` belongs to the database's owner) counts too.
constexpr const char* kAuditTableControl =
    "SELECT current_user, pg_get_userbyid(c.relowner), r.rolsuper, "
    "pg_has_role(current_user, c.relowner, 'USAGE') OR pg_has_role(current_user, n.nspowner, 'USAGE') "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_roles r ON r.rolname = current_user "
    "WHERE c.oid = to_regclass('audit_log')";

}  // namespace

std::string CurrentRole(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  return tx.exec1(kCurrentRole)[0].as<std::string>();
}

Status GrantServingAccess(pqxx::connection& owner, const std::string& role) {
  try {
    pqxx::work tx(owner);
    const std::string schema = tx.quote_name(tx.exec1(kCurrentSchema)[0].as<std::string>());
    const std::string grantee = tx.quote_name(role);
    // GRANT takes no bind parameters: the names are quoted identifiers.
    tx.exec0("GRANT USAGE ON SCHEMA " + schema + " TO " + grantee);
    tx.exec0("REVOKE CREATE ON SCHEMA " + schema + " FROM " + grantee);
    tx.exec0("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " + grantee);
    tx.exec0("REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA " + schema + " FROM " + grantee);
    tx.exec0("REVOKE INSERT, UPDATE, DELETE ON " + schema + ".schema_migrations FROM " + grantee);
    tx.exec0("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA " + schema + " TO " + grantee);
    tx.commit();
    return Ok();
  } catch (const pqxx::sql_error& e) {
    return Error::InvalidInput("granting role " + role + " access to the schema failed: " + e.what());
  }
}

std::optional<AuditTableControl> AuditTableControlOf(pqxx::transaction_base& tx) {
  const pqxx::result r = tx.exec(kAuditTableControl);
  if (r.empty()) return std::nullopt;
  AuditTableControl c;
  c.role = r[0][0].as<std::string>();
  c.table_owner = r[0][1].as<std::string>();
  c.superuser = r[0][2].as<bool>();
  c.controls = c.superuser || r[0][3].as<bool>();
  return c;
}

}  // namespace backstop::store
