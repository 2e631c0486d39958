#include <filesystem>
#include <fstream>

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
