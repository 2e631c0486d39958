#include "backstop/policy/threshold_set.hpp"

#include <array>
#include <utility>

namespace backstop::policy {
namespace {

// One table per enum: the YAML/wire spelling beside its value, so ToString
// and Parse* cannot drift apart.
template <typename E, std::size_t N>
using NameTable = std::array<std::pair<E, std::string_view>, N>;

constexpr NameTable<Reversibility, 5> kReversibilityNames = {{
    {Reversibility::kTriviallyReversible, "trivially_reversible"},
    {Reversibility::kReversibleWithState, "reversible_with_state"},
    {Reversibility::kReversibleWithBackup, "reversible_with_backup"},
    {Reversibility::kPartiallyReversible, "partially_reversible"},
    {Reversibility::kIrreversible, "irreversible"},
}};

constexpr NameTable<Automation, 3> kAutomationNames = {{
    {Automation::kAuto, "auto"},
    {Automation::kApproval, "approval"},
    {Automation::kDualApproval, "dual_approval"},
}};

constexpr NameTable<AggregateKind, 3> kAggregateNames = {{
    {AggregateKind::kMean, "mean"},
    {AggregateKind::kMax, "max"},
    {AggregateKind::kLast, "last"},
}};

constexpr NameTable<BadWhen, 2> kBadWhenNames = {{
    {BadWhen::kAbove, "above"},
    {BadWhen::kBelow, "below"},
}};

constexpr NameTable<StatTest, 2> kStatTestNames = {{
    {StatTest::kNone, "none"},
    {StatTest::kMannWhitney, "mann_whitney"},
}};

template <typename E, std::size_t N>
std::string_view NameOf(const NameTable<E, N>& table, E value) {
  for (const auto& [candidate, name] : table) {
    if (candidate == value) return name;
  }
  return "unknown";
}

template <typename E, std::size_t N>
std::optional<E> ValueOf(const NameTable<E, N>& table, std::string_view text) {
  for (const auto& [value, name] : table) {
    if (name == text) return value;
  }
  return std::nullopt;
}

}  // namespace

std::string_view ToString(Reversibility r) { return NameOf(kReversibilityNames, r); }
std::string_view ToString(Automation a) { return NameOf(kAutomationNames, a); }
std::string_view ToString(AggregateKind a) { return NameOf(kAggregateNames, a); }
std::string_view ToString(BadWhen b) { return NameOf(kBadWhenNames, b); }
std::string_view ToString(StatTest t) { return NameOf(kStatTestNames, t); }

std::optional<Reversibility> ParseReversibility(std::string_view text) {
  return ValueOf(kReversibilityNames, text);
}
std::optional<Automation> ParseAutomation(std::string_view text) {
  return ValueOf(kAutomationNames, text);
}
std::optional<AggregateKind> ParseAggregateKind(std::string_view text) {
  return ValueOf(kAggregateNames, text);
}
std::optional<BadWhen> ParseBadWhen(std::string_view text) { return ValueOf(kBadWhenNames, text); }
std::optional<StatTest> ParseStatTest(std::string_view text) {
  return ValueOf(kStatTestNames, text);
}

}  // namespace backstop::policy
