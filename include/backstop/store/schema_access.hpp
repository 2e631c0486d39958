#pragma once

#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "backstop/common/result.hpp"

namespace backstop::store {

// Who may do what to Backstop's schema (DESIGN "Audit log"). The role that
// serves is not the role that owns the schema: migrations run as the owner,
// which then grants the serving role only what serving needs, so the serving
// role cannot ALTER a table, add or drop a trigger, or switch the audit log's
// append-only triggers off. Stateless; each call uses the connection or
// transaction it is given.

// The role `conn` is logged in as (current_user).
std::string CurrentRole(pqxx::connection& conn);

// Run by the owner after migrating: gives `role` on the current schema
// USAGE (not CREATE); SELECT, INSERT, UPDATE, DELETE on every table (only
// SELECT on schema_migrations); USAGE, SELECT, UPDATE on every sequence —
// and takes back TRUNCATE, REFERENCES and TRIGGER should anyone have granted
// them. Never ownership. Covers tables added by any migration so far; the
// migrator calls it after every run, so later migrations are covered too.
// The append-only triggers still refuse UPDATE and DELETE on audit_log, and
// the serving role cannot disable them. One transaction.
Status GrantServingAccess(pqxx::connection& owner, const std::string& role);

// Whether the role of `tx` controls the audit table: it owns audit_log or
// its schema (directly or as a member of the owning role), or is a
// superuser — and so could disable its triggers or drop it. nullopt before
// migrations created the table.
struct AuditTableControl {
  std::string role;        // current_user
  std::string table_owner; // owner of audit_log
  bool superuser = false;
  bool controls = false;   // could ALTER or DROP TABLE audit_log
};
std::optional<AuditTableControl> AuditTableControlOf(pqxx::transaction_base& tx);

}  // namespace backstop::store
