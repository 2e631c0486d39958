#include "backstop/store/db_probe.hpp"

#include "backstop/store/row_helpers.hpp"

namespace backstop::store {

namespace {
constexpr const char* kPing = "SELECT 1";
constexpr const char* kNow = "SELECT " BACKSTOP_EPOCH_MICROS("clock_timestamp()");
}  // namespace

void Ping(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  tx.exec1(kPing);
}

std::int64_t DatabaseNowMicros(pqxx::transaction_base& tx) { return tx.exec1(kNow)[0].as<std::int64_t>(); }

}  // namespace backstop::store
