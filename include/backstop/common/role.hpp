#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace backstop {

// API roles (DESIGN "Roles and authentication").
//   deployer  - post deployments and telemetry, read
//   telemetry - post telemetry only
//   approver  - read, approve/reject escalations
//   admin     - everything, including mode and threshold reload
//   viewer    - read
enum class Role { kDeployer, kTelemetry, kApprover, kAdmin, kViewer };

std::string_view RoleName(Role r);
std::optional<Role> ParseRole(std::string_view name);

// The authenticated caller: the token's name is the identity.
struct Principal {
  std::string name;
  Role role = Role::kViewer;
};

}  // namespace backstop
