#include "backstop/domain/mode.hpp"

#include "backstop/common/wire_table.hpp"

namespace backstop {

namespace {

constexpr WireTable<Mode, 3> kModes{{
    {Mode::kNormal, "normal"},
    {Mode::kDryRun, "dry_run"},
    {Mode::kFreeze, "freeze"},
}};

}  // namespace

std::string_view ModeName(Mode m) { return WireName(kModes, m); }
std::optional<Mode> ParseMode(std::string_view name) { return ParseWire(kModes, name); }

}  // namespace backstop
