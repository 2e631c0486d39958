// store::Exec runs fixed statements prepared once per connection.
#include <gtest/gtest.h>

#include "backstop/store/prepared.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

constexpr const char* kAddOne = "SELECT $1::int + 1";
constexpr const char* kTimesTwo = "SELECT $1::int * 2";

TEST(PreparedTest, EachTextHasOneStableNameAndDifferentTextsDiffer) {
  EXPECT_EQ(store::PreparedName(kAddOne), store::PreparedName(std::string("SELECT $1::int + 1")));
  EXPECT_NE(store::PreparedName(kAddOne), store::PreparedName(kTimesTwo));
  EXPECT_EQ(store::PreparedName(kAddOne).rfind("bs_", 0), 0u);
}

TEST(PreparedTest, AStatementPreparedInARolledBackTransactionRunsInTheNext) {
  TestDatabase db;
  auto conn = db.Connect();
  {
    pqxx::work tx(*conn);
    EXPECT_EQ(store::Exec1(tx, kAddOne, 41)[0].as<int>(), 42);
    tx.abort();
  }
  pqxx::work tx(*conn);
  EXPECT_EQ(store::Exec1(tx, kAddOne, 1)[0].as<int>(), 2);
  EXPECT_EQ(store::Exec1(tx, kTimesTwo, 21)[0].as<int>(), 42);
}

TEST(PreparedTest, AStatementWhoseFirstRunFailedRunsInTheNextTransaction) {
  TestDatabase db;
  auto conn = db.Connect();
  constexpr const char* kDivide = "SELECT 10 / $1::int";
  {
    pqxx::work tx(*conn);
    EXPECT_THROW(store::Exec1(tx, kDivide, 0), pqxx::sql_error);  // prepared, then failed on execution
  }
  pqxx::work tx(*conn);
  EXPECT_EQ(store::Exec1(tx, kDivide, 2)[0].as<int>(), 5);
  EXPECT_TRUE(store::Exec0(tx, "SELECT 1 WHERE $1::int > 10", 3).empty());
}

TEST(PreparedTest, ExecOneRefusesAnAnswerWithoutExactlyOneRow) {
  TestDatabase db;
  auto conn = db.Connect();
  pqxx::work tx(*conn);
  EXPECT_THROW(store::Exec1(tx, "SELECT 1 WHERE $1::int > 10", 3), pqxx::unexpected_rows);
}

}  // namespace
}  // namespace backstop::testing
