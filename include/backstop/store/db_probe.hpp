#pragma once

#include <cstdint>

#include <pqxx/pqxx>

namespace backstop::store {

// One round trip that proves the database answers (readiness).
void Ping(pqxx::connection& conn);

// The database's clock_timestamp() as epoch microseconds (DbClock's source).
std::int64_t DatabaseNowMicros(pqxx::transaction_base& tx);

}  // namespace backstop::store
