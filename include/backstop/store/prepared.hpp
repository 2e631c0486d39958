#pragma once

#include <string>
#include <utility>

#include <pqxx/pqxx>

namespace backstop::store {

// The name a statement is prepared under: derived from its text, so each
// distinct statement has one name on every connection and no registry of
// names is needed. Two texts with the same name make libpqxx refuse the
// second definition loudly ("inconsistent redefinition"), never run the
// wrong statement.
std::string PreparedName(const std::string& sql);

// Defines `sql` on the transaction's connection (a no-op once defined
// there) and returns the name to execute it under.
std::string Prepare(pqxx::transaction_base& tx, const std::string& sql);

// Runs `sql` (a fixed text with $n parameters, never built from input) as a
// statement prepared on the transaction's connection. PostgreSQL then
// parses, analyses and plans it once per connection instead of on every call:
// on the deployment path, parsing and planning were about a fifth of the
// machine's CPU (perf, bench/deployment_throughput_bench).
// Preparing is lazy (on first use) and survives rollbacks; a statement
// whose text is built per call stays with exec_params.
//
// Never catch a statement's error and carry on in the same transaction:
// libpqxx 6.4 then runs exec_prepared (and exec_params) outside it, in
// autocommit. Let the error end the transaction, as DbPool::Run does.
template <typename... Args>
pqxx::result Exec(pqxx::transaction_base& tx, const std::string& sql, Args&&... args) {
  return tx.exec_prepared(Prepare(tx, sql), std::forward<Args>(args)...);
}

// Exec that expects exactly one row (pqxx::unexpected_rows otherwise).
template <typename... Args>
pqxx::row Exec1(pqxx::transaction_base& tx, const std::string& sql, Args&&... args) {
  return tx.exec_prepared1(Prepare(tx, sql), std::forward<Args>(args)...);
}

// Exec that expects no rows (pqxx::unexpected_rows otherwise).
template <typename... Args>
pqxx::result Exec0(pqxx::transaction_base& tx, const std::string& sql, Args&&... args) {
  return tx.exec_prepared0(Prepare(tx, sql), std::forward<Args>(args)...);
}

}  // namespace backstop::store
