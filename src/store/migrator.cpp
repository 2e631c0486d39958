#include "backstop/store/migrator.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <spdlog/spdlog.h>

#include "backstop/common/sha256.hpp"

namespace backstop::store {

namespace {

// Any constant works; it only has to be the same for every Backstop process.
constexpr long long kMigrationLockKey = 0x6261636b73746f70;  // "backstop"

constexpr const char* kCreateTable = R"SQL(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version     integer     PRIMARY KEY,
  name        text        NOT NULL,
  checksum    text        NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
))SQL";

constexpr const char* kTableExists = "SELECT to_regclass('schema_migrations')";
constexpr const char* kSelectApplied = "SELECT version, name, checksum FROM schema_migrations ORDER BY version";
constexpr const char* kInsertApplied =
    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)";

// Session-level lock released explicitly, even when a migration fails.
class AdvisoryLock {
 public:
  explicit AdvisoryLock(pqxx::connection& conn) : conn_(conn) {
    pqxx::nontransaction tx(conn_);
    tx.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
  }
  ~AdvisoryLock() {
    try {
      pqxx::nontransaction tx(conn_);
      tx.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
    } catch (const std::exception& e) {
      spdlog::warn("releasing migration lock failed: {}", e.what());
    }
  }
  AdvisoryLock(const AdvisoryLock&) = delete;
  AdvisoryLock& operator=(const AdvisoryLock&) = delete;

 private:
  pqxx::connection& conn_;
};

}  // namespace

Result<std::vector<MigrationFile>> ListMigrations(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error::InvalidInput("migrations_dir: not a directory: " + dir);
  }
  static const std::regex kName(R"(^(\d{4})_[A-Za-z0-9_\-]+\.sql$)");
  std::map<int, MigrationFile> by_version;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
    const std::string name = entry.path().filename().string();
    std::smatch m;
    if (!std::regex_match(name, m, kName)) {
      return Error::InvalidInput("migration file name must look like 0001_name.sql: " + name);
    }
    const int version = std::stoi(m[1].str());
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    if (!in && !in.eof()) return Error::InvalidInput("cannot read migration " + name);
    MigrationFile file{version, name, buf.str(), Sha256Hex(buf.str())};
    if (by_version.count(version) != 0) {
      return Error::InvalidInput("two migrations share version " + std::to_string(version) + ": " +
                                 by_version[version].name + " and " + name);
    }
    by_version.emplace(version, std::move(file));
  }
  std::vector<MigrationFile> out;
  for (auto& [v, f] : by_version) out.push_back(std::move(f));
  return out;
}

Result<std::vector<std::string>> Migrate(pqxx::connection& conn, const std::string& dir) {
  auto files = ListMigrations(dir);
  if (!files) return files.error();
  AdvisoryLock lock(conn);
  {
    // Created only when missing: even CREATE TABLE IF NOT EXISTS needs the
    // CREATE privilege on the schema, which the serving role lacks, and a
    // serve that finds nothing pending must not need it.
    pqxx::work tx(conn);
    try {
      if (tx.exec1(kTableExists)[0].is_null()) tx.exec0(kCreateTable);
    } catch (const pqxx::sql_error& e) {
      return Error::InvalidInput(std::string("creating schema_migrations failed (migrations run as the schema "
                                             "owner, see migration_database_url): ") + e.what());
    }
    tx.commit();
  }
  struct Applied {
    std::string name;
    std::string checksum;
  };
  std::map<int, Applied> applied;
  {
    pqxx::read_transaction tx(conn);
    for (const auto& row : tx.exec(kSelectApplied)) {
      applied[row[0].as<int>()] = Applied{row[1].as<std::string>(), row[2].as<std::string>()};
    }
  }
  std::map<int, const MigrationFile*> on_disk;
  for (const auto& f : *files) on_disk[f.version] = &f;
  for (const auto& [version, a] : applied) {
    auto it = on_disk.find(version);
    if (it == on_disk.end()) {
      return Error::InvalidInput("applied migration " + a.name + " is missing from " + dir);
    }
    if (it->second->checksum != a.checksum) {
      return Error::InvalidInput("migration " + it->second->name +
                                 " changed after it was applied (checksum mismatch); "
                                 "shipped migrations are immutable, add a new one instead");
    }
  }
  std::vector<std::string> done;
  for (const auto& f : *files) {
    if (applied.count(f.version) != 0) continue;
    pqxx::work tx(conn);
    try {
      tx.exec0(f.sql);
    } catch (const pqxx::sql_error& e) {
      return Error::InvalidInput("migration " + f.name + " failed: " + e.what());
    }
    tx.exec_params0(kInsertApplied, f.version, f.name, f.checksum);
    tx.commit();
    spdlog::info("applied migration {}", f.name);
    done.push_back(f.name);
  }
  return done;
}

}  // namespace backstop::store
