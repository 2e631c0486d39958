#pragma once

#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "backstop/domain/mode.hpp"

namespace backstop::store {

struct ModeState {
  Mode mode = Mode::kNormal;
  std::string updated_by;
};

// The controller mode, one row in the database so it survives restarts and
// every process sharing the database sees the same mode.
class ModeRepository {
 public:
  static ModeState Get(pqxx::transaction_base& tx);
  // Reads the mode and holds a share lock on it until the transaction ends,
  // so a mode change cannot commit in between.
  static ModeState GetForShare(pqxx::work& tx);
  // Sets the mode and audits the change (only when it changes). Returns the previous mode.
  // Audits mode.changed with the reason, when given. Returns the previous mode.
  static Mode Set(pqxx::work& tx, Mode mode, const std::string& actor,
                  const std::optional<std::string>& reason = std::nullopt);
};

}  // namespace backstop::store
