#include "backstop/decision/summary.hpp"

#include <algorithm>
#include <cstdio>

namespace backstop::decision {

namespace {

std::string FormatValue(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

bool Has(const std::vector<ReasonCode>& reasons, ReasonCode code) {
  return std::find(reasons.begin(), reasons.end(), code) != reasons.end();
}

// The signal most worth a human's first look: a critical breach, then any
// breach, then the first critical signal without evidence.
const SignalEvaluation* Headline(const Evaluation& e) {
  for (const auto& s : e.signals) {
    if (s.critical && s.state == SignalState::kBreach) return &s;
  }
  for (const auto& s : e.signals) {
    if (s.state == SignalState::kBreach) return &s;
  }
  for (const auto& s : e.signals) {
    if (s.critical && s.state != SignalState::kPass) return &s;
  }
  return e.signals.empty() ? nullptr : &e.signals.front();
}

}  // namespace

std::string SummarizeEscalation(const ReleaseFacts& release, const Decision& decision) {
  std::string out = release.service + " " + release.version + " in " + release.environment + ": ";
  const SignalEvaluation* s = Headline(decision.evaluation);
  if (s == nullptr) {
    out += "no signals evaluated";
  } else {
    out += s->name;
    if (s->source != "default") out += " (" + s->source + ")";
    if (s->canary) {
      out += " " + FormatValue(s->canary->value);
    } else {
      out += " no samples";
    }
    if (s->baseline) out += " vs baseline " + FormatValue(s->baseline->value);
    if (s->state == SignalState::kInsufficient) out += ", too few samples";
    if (s->state == SignalState::kStale) out += ", stale";
  }
  const auto& r = decision.reasons;
  if (Has(r, ReasonCode::kConflictBaselineDegraded)) {
    out += "; baseline also degraded \xe2\x80\x94 possible dependency outage";
  }
  if (Has(r, ReasonCode::kConflictSourceDisagreement)) out += "; sources disagree";
  if (Has(r, ReasonCode::kConflictFlapping)) out += "; signal flapping";
  if (Has(r, ReasonCode::kBlastRadiusTrafficExceedsLimit)) {
    out += "; serving " + FormatValue(release.traffic_percent) + "% of traffic";
  }
  if (Has(r, ReasonCode::kBlastRadiusSharedInfrastructure)) out += "; shared infrastructure";
  if (Has(r, ReasonCode::kBudgetExhausted)) out += "; auto-rollback budget exhausted";
  if (Has(r, ReasonCode::kTargetUnknown)) out += "; no previous version to roll back to";
  if (Has(r, ReasonCode::kModeFreeze)) out += "; controller frozen";
  if (Has(r, ReasonCode::kRollbackFailed)) out += "; the rollback failed";
  if (Has(r, ReasonCode::kRollbackIneffective)) out += "; still degraded after the rollback";
  if (decision.proposed == ProposedActionType::kContain) out += "; irreversible: proposes containment";
  return out;
}

}  // namespace backstop::decision
