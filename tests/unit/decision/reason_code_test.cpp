#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "backstop/decision/reason_code.hpp"
#include "decision_test_support.hpp"

namespace backstop::decision {
namespace {

struct WireCase {
  ReasonCode code;
  std::string_view wire;
};

class ReasonCodeWireTest : public ::testing::TestWithParam<WireCase> {};

TEST_P(ReasonCodeWireTest, MapsToItsWireStringAndBack) {
  const WireCase& c = GetParam();
  EXPECT_EQ(ToString(c.code), c.wire);
  EXPECT_EQ(ParseReasonCode(c.wire), c.code);
}

INSTANTIATE_TEST_SUITE_P(
    EveryCode, ReasonCodeWireTest,
    ::testing::Values(WireCase{ReasonCode::kSignalBreach, "signal.breach"},
                      WireCase{ReasonCode::kPolicyApprovalRequired, "policy.approval_required"},
                      WireCase{ReasonCode::kPolicyDualApprovalRequired, "policy.dual_approval_required"},
                      WireCase{ReasonCode::kBlastRadiusTrafficExceedsLimit, "blast_radius.traffic_exceeds_limit"},
                      WireCase{ReasonCode::kBlastRadiusSharedInfrastructure, "blast_radius.shared_infrastructure"},
                      WireCase{ReasonCode::kBudgetExhausted, "budget.exhausted"},
                      WireCase{ReasonCode::kTargetUnknown, "target.unknown"},
                      WireCase{ReasonCode::kConflictBaselineDegraded, "conflict.baseline_degraded"},
                      WireCase{ReasonCode::kConflictSourceDisagreement, "conflict.source_disagreement"},
                      WireCase{ReasonCode::kConflictFlapping, "conflict.flapping"},
                      WireCase{ReasonCode::kTelemetryInsufficient, "telemetry.insufficient"},
                      WireCase{ReasonCode::kTelemetryStale, "telemetry.stale"},
                      WireCase{ReasonCode::kModeFreeze, "mode.freeze"},
                      WireCase{ReasonCode::kRollbackFailed, "rollback.failed"},
                      WireCase{ReasonCode::kRollbackIneffective, "rollback.ineffective"}),
    [](const ::testing::TestParamInfo<WireCase>& info) {
      std::string name(info.param.wire);
      for (char& ch : name) {
        if (ch == '.') ch = '_';
      }
      return name;
    });

TEST(ReasonCodeTest, EveryEnumeratorHasADistinctWireString) {
  std::set<std::string_view> seen;
  for (int i = 0; i <= static_cast<int>(ReasonCode::kRollbackIneffective); ++i) {
    const std::string_view wire = ToString(static_cast<ReasonCode>(i));
    EXPECT_NE(wire, "unknown") << i;
    EXPECT_TRUE(seen.insert(wire).second) << wire;
  }
}

TEST(ReasonCodeTest, RejectsUnknownOrMiscasedText) {
  for (const char* bad : {"", "signal", "signal.breach ", "Signal.Breach", "conflict", "unknown", "signal_breach"}) {
    EXPECT_FALSE(ParseReasonCode(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace backstop::decision
