// What the API's codes mean, in words for the person deciding.

// One sentence per reason code: the twin of Explain() in
// src/decision/reason_code.cpp (the CLI prints the same sentences).
// tests/unit/decision/reason_code_ui_test.cpp fails when the two differ.
export const REASONS = {
  "signal.breach": "a critical signal breached its bound or its baseline for long enough to count",
  "policy.approval_required": "this release class needs a human to approve any rollback",
  "policy.dual_approval_required": "this release class needs two different approvers",
  "blast_radius.traffic_exceeds_limit": "the release serves more traffic than automatic rollback may touch",
  "blast_radius.shared_infrastructure": "the release touches shared infrastructure",
  "budget.exhausted": "this class already used its automatic rollbacks in this environment",
  "target.unknown": "there is no known previous version to roll back to",
  "conflict.baseline_degraded": "the baseline is degraded too: the cause is likely outside the release",
  "conflict.source_disagreement": "two telemetry sources disagree about this signal",
  "conflict.flapping": "the signal keeps crossing its bound back and forth",
  "telemetry.insufficient": "too few samples to judge a critical signal",
  "telemetry.stale": "a critical signal's telemetry stopped arriving",
  "mode.freeze": "the controller is frozen: nothing runs without a human",
  "rollback.failed": "the rollback was attempted and failed",
  "rollback.ineffective": "the rollback ran but the restored version still breaches",
};

export function explainReason(code) {
  return REASONS[code] || 'a reason this page does not know yet';
}

// Refusals of approve, reject and the mode change: the API's error code
// followed by what it means for the person who clicked.
export const REFUSALS = {
  separation_of_duties:
    'You deployed this release or are named as what triggered it, so someone else has to decide on it.',
  already_approved: 'You already approved this escalation; the other approval has to come from someone else.',
  expired:
    'The escalation expired unanswered. If the release is still degraded, Backstop opens a new escalation.',
  superseded:
    'A newer release of this service and environment replaced this one, so this escalation can no longer be approved.',
  intent_changed:
    'The release or its rollback target changed since the escalation was opened; look at the release before deciding again.',
  approved: 'This escalation is already approved.',
  rejected: 'This escalation is already rejected.',
  target_unknown: 'There is no known previous version to roll back to.',
  forbidden: "Your token's role may not do this.",
  invalid_input: 'Backstop refused the request as invalid.',
  not_found: 'Backstop does not know this id.',
  unavailable: 'Backstop or its database is unavailable; try again in a moment.',
  unreachable: 'Backstop did not answer; check the connection and try again.',
  unauthorized: 'The token was refused.',
};

export function explainRefusal(code) {
  return REFUSALS[code] || null;
}

export const MODES = {
  normal: 'Backstop decides and acts within its limits.',
  dry_run: 'Decisions are recorded as would_rollback / would_escalate; nothing executes.',
  freeze: 'Every decision escalates to a human; nothing runs automatically. Rollbacks approved by people still run.',
};

export const ESCALATION_STATES = ['pending', 'approved', 'rejected', 'expired', 'superseded'];

export const RELEASE_STATUSES = [
  'evaluating', 'healthy', 'rolling_back', 'rolled_back', 'rollback_failed',
  'escalated', 'rollback_rejected', 'superseded',
];

export const SIGNAL_STATES = {
  pass: 'within its bound',
  breach: 'breaching',
  insufficient: 'too few samples',
  stale: 'telemetry stopped arriving',
};

export const VERDICTS = {
  pass: 'every critical signal passes',
  breach: 'a critical signal breaches',
  conflict: 'the signals contradict each other',
  insufficient: 'too little fresh telemetry to judge',
};

export const DECISIONS = {
  auto_rollback: 'rolled back automatically',
  escalate: 'escalated to a human',
  would_rollback: 'would have rolled back (dry run)',
  would_escalate: 'would have escalated (dry run)',
  healthy: 'verified healthy',
};

// The proposed action as a sentence.
export function describeAction(action, service, environment) {
  if (!action) return 'No action is proposed.';
  if (action.type === 'contain') {
    return `Contain ${service} in ${environment} at ${action.from_version}: this class is irreversible, ` +
      'so approving records the decision and the people on call carry out the containment; nothing runs by itself.';
  }
  if (!action.to_version) {
    return `Roll back ${service} in ${environment} from ${action.from_version}, but no previous version is known to roll back to.`;
  }
  return `Roll back ${service} in ${environment} from ${action.from_version} to ${action.to_version} ` +
    '(the previous version), through the configured executor.';
}
