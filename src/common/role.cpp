#include "backstop/common/role.hpp"

#include <array>
#include <utility>

namespace backstop {

namespace {

constexpr std::array<std::pair<Role, std::string_view>, 5> kRoles{{
    {Role::kDeployer, "deployer"},
    {Role::kTelemetry, "telemetry"},
    {Role::kApprover, "approver"},
    {Role::kAdmin, "admin"},
    {Role::kViewer, "viewer"},
}};

constexpr std::array<std::pair<Mode, std::string_view>, 3> kModes{{
    {Mode::kNormal, "normal"},
    {Mode::kDryRun, "dry_run"},
    {Mode::kFreeze, "freeze"},
}};

}  // namespace

std::string_view RoleName(Role r) {
  for (const auto& [role, name] : kRoles) {
    if (role == r) return name;
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (const auto& [role, n] : kRoles) {
    if (n == name) return role;
  }
  return std::nullopt;
}

std::string_view ModeName(Mode m) {
  for (const auto& [mode, name] : kModes) {
    if (mode == m) return name;
  }
  return "unknown";
}

std::optional<Mode> ParseMode(std::string_view name) {
  for (const auto& [mode, n] : kModes) {
    if (n == name) return mode;
  }
  return std::nullopt;
}

}  // namespace backstop
