#pragma once

#include <optional>
#include <string_view>

namespace backstop {

// Controller modes (DESIGN "Evaluation, conflicts and the decision"), stored
// in the database and surviving restarts.
enum class Mode {
  kNormal,  // normal: decisions execute
  kDryRun,  // dry_run: decisions are recorded as would_rollback / would_escalate; nothing executes
  kFreeze,  // freeze: every decision escalates and automatic actions wait (deny-all)
};
std::string_view ModeName(Mode m);
std::optional<Mode> ParseMode(std::string_view name);

}  // namespace backstop
