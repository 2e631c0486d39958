#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backstop/common/sha256.hpp"
#include "backstop/store/migrator.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

namespace fs = std::filesystem;

// A scratch copy of migrations/ that a test may edit.
class MigrationDir {
 public:
  MigrationDir() : path_(fs::temp_directory_path() / ("backstop-mig-" + RandomHex(6))) {
    fs::create_directories(path_);
    for (const auto& e : fs::directory_iterator(SourcePath("migrations"))) {
      fs::copy_file(e.path(), path_ / e.path().filename());
    }
  }
  ~MigrationDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary | std::ios::trunc) << text;
  }
  void Append(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary | std::ios::app) << text;
  }

 private:
  fs::path path_;
};

int CountApplied(pqxx::connection& conn) {
  pqxx::read_transaction tx(conn);
  return tx.exec1("SELECT count(*) FROM schema_migrations")[0].as<int>();
}

TEST(MigrationsTest, FreshDatabaseGetsEveryMigrationInOrder) {
  TestDatabase db(TestDatabase::Kind::kEmpty);
  auto conn = db.ConnectAsOwner();
  auto files = store::ListMigrations(SourcePath("migrations"));
  ASSERT_TRUE(files.ok());
  auto applied = store::Migrate(*conn, SourcePath("migrations"));
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  ASSERT_EQ(applied->size(), files->size());
  for (std::size_t i = 0; i < files->size(); ++i) EXPECT_EQ((*applied)[i], (*files)[i].name);
  EXPECT_EQ(CountApplied(*conn), static_cast<int>(files->size()));
  pqxx::read_transaction tx(*conn);
  EXPECT_EQ(tx.exec1("SELECT mode FROM controller_mode")[0].as<std::string>(), "normal");
}

// Migration 0010 checks identifiers and hashes by length plus "no character
// outside the set" instead of a bounded-repetition regex: every column so
// checked accepts exactly what the old regex accepted.
TEST(MigrationsTest, FormatChecksAcceptExactlyWhatTheirOldRegexAccepted) {
  TestDatabase db;
  auto conn = db.ConnectAsOwner();
  const std::string hex64(64, 'a');
  const std::vector<std::string> names = {"", "a", "A.b_c:d-e9", std::string(128, 'a'), std::string(129, 'a'),
                                          "a b", "a\n", "\na", "a/b", "caf\xc3\xa9", "a\tb", "-"};
  const std::vector<std::string> hashes = {hex64, std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'A'),
                                           std::string(63, 'a') + "g", hex64 + "\n", std::string(64, '0'), ""};
  const auto old_rule = [&](const std::string& value, const char* regex) {
    pqxx::read_transaction tx(*conn);
    return tx.exec_params1("SELECT $1 ~ $2", value, regex)[0].as<bool>();
  };
  const auto accepted = [&](const std::string& sql, const std::vector<std::string>& params) {
    pqxx::work tx(*conn);
    try {
      if (params.size() == 1) {
        tx.exec_params(sql, params[0]);
      } else {
        tx.exec_params(sql, params[0], params[1]);
      }
    } catch (const pqxx::check_violation&) {
      return false;
    }
    return true;  // rolled back when tx goes
  };
  int n = 0;
  for (const auto& name : names) {
    const bool expected = old_rule(name, "^[A-Za-z0-9._:-]{1,128}$");
    const std::string unique_hash = Sha256Hex(std::to_string(++n));
    EXPECT_EQ(accepted("INSERT INTO api_tokens (name, role, token_sha256) VALUES ($1, 'viewer', $2)", {name, unique_hash}),
              expected)
        << "api_tokens.name " << name;
    EXPECT_EQ(accepted("INSERT INTO threshold_sets (release_class, version, sha256, body, source_file) "
                       "VALUES ($1, 1, $2, '{}', 'f.yaml')",
                       {name, unique_hash}),
              expected)
        << "threshold_sets.release_class " << name;
    EXPECT_EQ(accepted("INSERT INTO releases (id, service, environment, version, release_class, thresholds_version, "
                       "traffic_percent, status, deployed_by, request_body) "
                       "VALUES ($1, 's', 'e', 'v', 'c', 1, 0, 'evaluating', 'x', '{}')",
                       {name}),
              expected)
        << "releases.id " << name;
  }
  {
    pqxx::work tx(*conn);
    tx.exec0("INSERT INTO audit_log (actor, kind, payload) VALUES ('t', 'mode.changed', '{}')");
    tx.commit();
  }
  for (const auto& hash : hashes) {
    const bool expected = old_rule(hash, "^[0-9a-f]{64}$");
    EXPECT_EQ(accepted("INSERT INTO api_tokens (name, role, token_sha256) VALUES ('n', 'viewer', $1)", {hash}),
              expected)
        << "api_tokens.token_sha256 " << hash;
    EXPECT_EQ(accepted("INSERT INTO threshold_sets (release_class, version, sha256, body, source_file) "
                       "VALUES ('c', 1, $1, '{}', 'f.yaml')",
                       {hash}),
              expected)
        << "threshold_sets.sha256 " << hash;
    // The one allowed UPDATE, sealing the unsealed entry, with the value as
    // one hash and a valid other.
    const std::string seal = "UPDATE audit_log SET seq = 1, sealed_at = now(), ";
    EXPECT_EQ(accepted(seal + "prev_hash = $1, hash = $2 WHERE seq IS NULL", {hash, Sha256Hex("h")}), expected)
        << "audit_log.prev_hash " << hash;
    EXPECT_EQ(accepted(seal + "prev_hash = $2, hash = $1 WHERE seq IS NULL", {hash, Sha256Hex("p")}), expected)
        << "audit_log.hash " << hash;
  }
}

TEST(MigrationsTest, ApplyingTwiceIsANoOp) {
  TestDatabase db(TestDatabase::Kind::kEmpty);
  auto conn = db.ConnectAsOwner();
  ASSERT_TRUE(store::Migrate(*conn, SourcePath("migrations")).ok());
  const int before = CountApplied(*conn);
  auto again = store::Migrate(*conn, SourcePath("migrations"));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(CountApplied(*conn), before);
}

TEST(MigrationsTest, EditedShippedMigrationIsRefusedByName) {
  TestDatabase db(TestDatabase::Kind::kEmpty);
  MigrationDir dir;
  auto conn = db.ConnectAsOwner();
  ASSERT_TRUE(store::Migrate(*conn, dir.str()).ok());
  dir.Append("0001_foundation.sql", "\n-- an edit after shipping\n");
  auto r = store::Migrate(*conn, dir.str());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("0001_foundation.sql"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("checksum"), std::string::npos) << r.error().message;
}

TEST(MigrationsTest, NewMigrationIsAppliedOnTopOfOldOnes) {
  TestDatabase db(TestDatabase::Kind::kEmpty);
  MigrationDir dir;
  auto conn = db.ConnectAsOwner();
  ASSERT_TRUE(store::Migrate(*conn, dir.str()).ok());
  dir.Write("9000_extra.sql", "CREATE TABLE extra_table (id int);");
  auto r = store::Migrate(*conn, dir.str());
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0], "9000_extra.sql");
}

TEST(MigrationsTest, FailingMigrationRollsBackAndIsNotRecorded) {
  TestDatabase db(TestDatabase::Kind::kEmpty);
  MigrationDir dir;
  dir.Write("9001_broken.sql", "CREATE TABLE half_done (id int); SELECT no_such_function();");
  auto conn = db.ConnectAsOwner();
  auto r = store::Migrate(*conn, dir.str());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("9001_broken.sql"), std::string::npos);
  pqxx::read_transaction tx(*conn);
  EXPECT_TRUE(tx.exec("SELECT 1 FROM pg_tables WHERE tablename = 'half_done'").empty());
  EXPECT_TRUE(tx.exec("SELECT 1 FROM schema_migrations WHERE version = 9001").empty());
}

TEST(MigrationsTest, MisnamedFileIsAnError) {
  MigrationDir dir;
  dir.Write("2_bad.sql", "SELECT 1;");
  auto r = store::ListMigrations(dir.str());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("2_bad.sql"), std::string::npos);
}

}  // namespace
}  // namespace backstop::testing
