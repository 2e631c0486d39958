#include "backstop/common/role.hpp"

#include "backstop/common/wire_table.hpp"

namespace backstop {

namespace {

constexpr WireTable<Role, 5> kRoles{{
    {Role::kDeployer, "deployer"},
    {Role::kTelemetry, "telemetry"},
    {Role::kApprover, "approver"},
    {Role::kAdmin, "admin"},
    {Role::kViewer, "viewer"},
}};

}  // namespace

std::string_view RoleName(Role r) { return WireName(kRoles, r); }
std::optional<Role> ParseRole(std::string_view name) { return ParseWire(kRoles, name); }

}  // namespace backstop
