#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/common/time_format.hpp"
#include "backstop/decision/decide.hpp"
#include "backstop/domain/mode.hpp"

namespace backstop::store {

struct DecisionRow {
  std::string id;
  std::string release_id;
  int episode = 0;
  decision::DecisionKind decision = decision::DecisionKind::kNone;
  std::vector<decision::ReasonCode> reasons;
  std::string evidence;  // JSON evaluation
  std::int64_t thresholds_version = 0;
  Mode mode = Mode::kNormal;
  TimePoint at{};
};

struct NewDecision {
  std::string release_id;
  int episode = 0;
  decision::DecisionKind decision = decision::DecisionKind::kNone;
  std::vector<decision::ReasonCode> reasons;
  std::string evidence;  // JSON evaluation
  std::int64_t thresholds_version = 0;
  Mode mode = Mode::kNormal;
};

// Decision rows: one real decision per release episode (unique index), each
// dry-run decision once per episode.
class DecisionRepository {
 public:
  // Inserts and returns the id; nullopt when this episode already has it.
  static std::optional<std::string> Insert(pqxx::work& tx, const NewDecision& d);
  // Newest first.
  static std::vector<DecisionRow> ListForRelease(pqxx::transaction_base& tx, const std::string& release_id);
  // The decisions of many releases in one query (list answers).
  static std::map<std::string, std::vector<DecisionRow>> ListForReleases(
      pqxx::transaction_base& tx, const std::vector<std::string>& release_ids);
};

}  // namespace backstop::store
