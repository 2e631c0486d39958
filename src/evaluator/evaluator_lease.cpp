#include "backstop/evaluator/evaluator_lease.hpp"

#include <spdlog/spdlog.h>

#include "backstop/common/sha256.hpp"

#include "backstop/store/evaluator_lease_repository.hpp"

namespace backstop::evaluator {

EvaluatorLease::EvaluatorLease(store::DbPool& pool, const std::string& instance_id, Millis duration)
    : pool_(pool), instance_id_(instance_id), owner_(instance_id + ":" + RandomHex(4)), duration_(duration) {}

bool EvaluatorLease::TakeBackFromPreviousLife() {
  auto epoch = pool_.Run<std::optional<std::int64_t>>(
      [this](pqxx::connection& conn) -> Result<std::optional<std::int64_t>> {
        pqxx::work tx(conn);
        auto e = store::EvaluatorLeaseRepository::TakeFromPreviousLife(tx, instance_id_, owner_, duration_);
        tx.commit();
        return e;
      });
  if (!epoch.ok() || !epoch->has_value()) return false;
  epoch_.store(**epoch);
  held_.store(true);
  spdlog::warn("evaluator: took back the evaluator lease a previous life of instance {} still held ({})",
               instance_id_, owner_);
  return true;
}

bool EvaluatorLease::Renew() {
  auto epoch = pool_.Run<std::optional<std::int64_t>>(
      [this](pqxx::connection& conn) -> Result<std::optional<std::int64_t>> {
        pqxx::work tx(conn);
        auto e = store::EvaluatorLeaseRepository::Acquire(tx, owner_, duration_);
        tx.commit();
        return e;
      });
  const bool was = held_.load();
  const bool now = epoch.ok() && epoch->has_value();
  if (now) epoch_.store(**epoch);
  held_.store(now);
  if (now != was) spdlog::info("evaluator: {} the evaluator lease ({})", now ? "holds" : "does not hold", owner_);
  return now;
}

void EvaluatorLease::Release() {
  if (!held_.exchange(false)) return;
  (void)pool_.Run<bool>([this](pqxx::connection& conn) -> Result<bool> {
    pqxx::work tx(conn);
    store::EvaluatorLeaseRepository::Release(tx, owner_);
    tx.commit();
    return true;
  });
}

}  // namespace backstop::evaluator
