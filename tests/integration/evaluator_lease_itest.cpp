// The evaluator lease row against a real PostgreSQL: who may take it when.
#include <gtest/gtest.h>

#include "backstop/store/evaluator_lease_repository.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

using store::EvaluatorLeaseRepository;

constexpr Millis kLease{60000};

class EvaluatorLeaseTest : public ::testing::Test {
 protected:
  std::optional<std::int64_t> Acquire(const std::string& owner) {
    pqxx::work tx(*conn);
    auto e = EvaluatorLeaseRepository::Acquire(tx, owner, kLease);
    tx.commit();
    return e;
  }
  std::optional<std::int64_t> TakeBack(const std::string& instance, const std::string& owner) {
    pqxx::work tx(*conn);
    auto e = EvaluatorLeaseRepository::TakeFromPreviousLife(tx, instance, owner, kLease);
    tx.commit();
    return e;
  }
  bool IsHeld(const std::string& owner, std::int64_t epoch) {
    pqxx::work tx(*conn);
    return EvaluatorLeaseRepository::IsHeld(tx, owner, epoch);
  }

  TestDatabase db;
  std::unique_ptr<pqxx::connection> conn = db.Connect();
};

TEST_F(EvaluatorLeaseTest, ARestartOfTheSameInstanceTakesItsLiveLeaseBackInANewEpoch) {
  const auto first = Acquire("node-a:8080:0123abcd");
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(Acquire("node-a:8080:89abcdef").has_value());  // live: a plain acquire waits
  const auto taken = TakeBack("node-a:8080", "node-a:8080:89abcdef");
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(*taken, *first + 1);
  EXPECT_FALSE(IsHeld("node-a:8080:0123abcd", *first));  // the previous life is fenced out
  EXPECT_TRUE(IsHeld("node-a:8080:89abcdef", *taken));
  EXPECT_EQ(Acquire("node-a:8080:89abcdef"), taken);      // and renews as usual
}

TEST_F(EvaluatorLeaseTest, AnotherInstanceOrItsOwnOwnerTakesNothingBack) {
  ASSERT_TRUE(Acquire("a:b:0123abcd").has_value());
  EXPECT_FALSE(TakeBack("a", "a:ffffffff").has_value());      // "a" is not "a:b"
  EXPECT_FALSE(TakeBack("a:b:0", "a:b:0:ffffffff").has_value());
  EXPECT_FALSE(TakeBack("b", "b:ffffffff").has_value());
  EXPECT_FALSE(TakeBack("a:b", "a:b:0123abcd").has_value());  // already its own
  EXPECT_TRUE(IsHeld("a:b:0123abcd", *Acquire("a:b:0123abcd")));
}

TEST_F(EvaluatorLeaseTest, AFreshDatabaseHasNoPreviousLife) {
  EXPECT_FALSE(TakeBack("node-a", "node-a:0123abcd").has_value());
  EXPECT_TRUE(Acquire("node-a:0123abcd").has_value());
}

}  // namespace
}  // namespace backstop::testing
