#pragma once

#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/common/result.hpp"

namespace backstop::store {

struct MigrationFile {
  int version = 0;
  std::string name;      // file name, e.g. "0001_foundation.sql"
  std::string sql;
  std::string checksum;  // SHA-256 of the file's bytes
};

// Lists `NNNN_name.sql` files in order. Any other *.sql name, or two files
// with one number, is an error (a typo must not silently skip a migration).
Result<std::vector<MigrationFile>> ListMigrations(const std::string& dir);

// Applies pending migrations in order, each in its own transaction, recording
// (version, name, checksum) in schema_migrations. Applying twice is a no-op.
// A recorded migration whose file changed or vanished is an error naming it.
// Concurrent migrators serialize on an advisory lock. Returns the names applied.
Result<std::vector<std::string>> Migrate(pqxx::connection& conn, const std::string& dir);

}  // namespace backstop::store
