#include "backstop/store/prepared.hpp"

#include <cstdint>
#include <cstdio>

namespace backstop::store {

std::string PreparedName(const std::string& sql) {
  // FNV-1a, 64 bits: stable across builds and processes (std::hash is not
  // promised to be), and far from colliding among a few hundred statements.
  std::uint64_t h = 14695981039346656037ULL;
  for (const unsigned char c : sql) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char name[24];
  std::snprintf(name, sizeof name, "bs_%016llx", static_cast<unsigned long long>(h));
  return name;
}

std::string Prepare(pqxx::transaction_base& tx, const std::string& sql) {
  std::string name = PreparedName(sql);
  tx.conn().prepare(name, sql);
  return name;
}

}  // namespace backstop::store
