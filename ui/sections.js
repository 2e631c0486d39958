// Sections shared by the escalation and release pages: reasons, conflicts,
// the evaluation, decisions, actions, audit entries and deployment metadata.

import { h, time, badge, formatNumber, formatClock, jsonText, link } from './dom.js';
import { explainReason, explainRefusal, DECISIONS, VERDICTS } from './words.js';
import { evidenceCharts } from './chart.js';

export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { class: 'panel', 'aria-labelledby': id }, h('h2', { id }, title), children);
}

// Reason codes as sentences, the code kept beside each for searching logs.
export function reasonList(codes, attrs = {}) {
  if (!codes || !codes.length) return h('p', {}, 'None.');
  return h('ul', { class: 'reasons', ...attrs },
    codes.map((code) => h('li', { 'data-reason': code },
      h('span', { class: 'reason-text' }, capitalize(explainReason(code))),
      ' ',
      h('code', {}, code))));
}

export function capitalize(text) {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

export function conflictList(codes) {
  if (!codes || !codes.length) return h('p', {}, 'No conflict: the signals agree with each other.');
  return reasonList(codes, { 'data-testid': 'conflicts' });
}

export function evaluationSection(title, evaluation, versions) {
  if (!evaluation) return section(title, h('p', {}, 'Not evaluated yet.'));
  const verdict = evaluation.verdict || 'unknown';
  return section(title,
    h('p', { class: 'verdict' }, 'Verdict: ', badge('verdict', verdict), ` — ${VERDICTS[verdict] || ''}`,
      '. Evaluated ', time(evaluation.evaluated_at), '.'),
    h('h3', {}, 'Conflicts'),
    conflictList(evaluation.conflicts),
    h('h3', {}, 'Signals: canary against baseline against the bound'),
    signalTable(evaluation.signals || []),
    evidenceCharts(evaluation, versions));
}

function aggregateText(agg) {
  if (!agg || agg.value === null || agg.value === undefined) return 'no samples';
  return `${formatNumber(agg.value)} (${agg.samples})`;
}

function signalTable(signals) {
  if (!signals.length) return null;
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Signals' },
    h('table', {},
      h('thead', {}, h('tr', {},
        ['Signal', 'Source', 'State', 'Canary (samples)', 'Baseline (samples)', 'Bound', 'p-value'].map((t) =>
          h('th', { scope: 'col' }, t)))),
      h('tbody', {}, signals.map((sig) => h('tr', {},
        h('th', { scope: 'row' }, sig.name, sig.critical === false ? ' (evidence only)' : ''),
        h('td', {}, sig.source),
        h('td', {}, badge('signal', sig.state)),
        h('td', {}, aggregateText(sig.canary)),
        h('td', {}, aggregateText(sig.baseline)),
        h('td', {}, sig.bound === null || sig.bound === undefined ? 'none'
          : `${sig.bad_when === 'below' ? '≥' : '≤'} ${formatNumber(sig.bound)}`),
        h('td', {}, sig.p_value === null || sig.p_value === undefined ? '—' : formatNumber(sig.p_value)))))));
}

export function decisionsSection(decisions) {
  if (!decisions || !decisions.length) return section('Decision history', h('p', {}, 'No decision yet.'));
  return section('Decision history',
    h('ol', { class: 'history', 'data-testid': 'decisions' }, decisions.map((d) => h('li', {},
      h('p', {}, time(d.at), ' — ', h('strong', {}, DECISIONS[d.decision] || d.decision), ' ',
        h('code', {}, d.decision),
        d.mode && d.mode !== 'normal' ? ` (mode ${d.mode})` : '',
        ` · thresholds version ${d.thresholds_version}`),
      reasonList(d.reasons)))));
}

export function actionsSection(actions) {
  if (!actions || !actions.length) return section('Actions', h('p', {}, 'No rollback or containment action.'));
  return section('Actions',
    h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Actions' },
      h('table', { 'data-testid': 'actions' },
        h('thead', {}, h('tr', {},
          ['Action', 'State', 'Attempts', 'Last error', 'Executor', 'Decided by', 'Updated'].map((t) =>
            h('th', { scope: 'col' }, t)))),
        h('tbody', {}, actions.map((a) => h('tr', { 'data-action': a.id },
          h('th', { scope: 'row' }, `${a.type} ${a.from_version} → ${a.to_version || '?'}`, h('br'),
            h('code', {}, a.id)),
          h('td', {}, badge('action', a.state)),
          h('td', { 'data-testid': 'attempts' }, String(a.attempts)),
          h('td', { 'data-testid': 'last-error' }, a.last_error || '—'),
          h('td', {}, a.executor || '—'),
          h('td', {}, a.decided_by === 'approval' ? `approval by ${(a.approvers || []).join(', ')}` : a.decided_by),
          h('td', {}, time(a.updated_at))))))));
}

export function auditSection(entries) {
  if (!entries || !entries.length) return section('Audit entries', h('p', {}, 'No audit entry yet.'));
  return section('Audit entries',
    h('ol', { class: 'audit', 'data-testid': 'audit' }, entries.map((e) => h('li', {},
      h('p', {}, `#${e.seq} `, time(e.at), ' — ', h('strong', {}, e.kind), ` by ${e.actor}`),
      e.payload && Object.keys(e.payload).length
        ? h('details', { 'data-key': `audit-${e.seq}` }, h('summary', { 'data-key': `audit-summary-${e.seq}` }, 'Details'), jsonText(e.payload))
        : null))));
}

export function metadataFacts(release) {
  if (!release.metadata || !Object.keys(release.metadata).length) return h('p', {}, 'No deployment metadata.');
  return h('div', { 'data-testid': 'metadata' }, jsonText(release.metadata));
}

export function escalationLinks(escalations) {
  if (!escalations || !escalations.length) return h('p', {}, 'No escalation.');
  return h('ul', {}, escalations.map((e) => h('li', {},
    link(`Escalation ${e.id}`, 'escalations', e.id), ' ', badge('escalation', e.state), ' opened ', time(e.created_at))));
}

// "Last updated 10:00:05": when the view last read the API, or why it could
// not. The polling itself is app.js's.
export function statusLine() {
  // Not a live region: a screen reader would announce it every five seconds.
  const el = h('p', { class: 'updated', 'data-testid': 'last-updated' }, 'Loading…');
  let lastOk = null;
  return {
    el,
    ok() {
      lastOk = new Date();
      el.classList.remove('failed');
      el.textContent = `Last updated ${formatClock(lastOk)}; refreshes every 5 seconds.`;
    },
    fail(error) {
      el.classList.add('failed');
      const since = lastOk ? ` Showing what was read at ${formatClock(lastOk)}.` : '';
      el.textContent = `Refresh failed at ${formatClock(new Date())}: ${error.code} — ${error.message}.${since}`;
    },
  };
}

// The message after a click: what happened, or why the API refused, in
// words with the API's code kept visible.
export function outcomeMessage(el, kind, text, error) {
  el.setAttribute('data-outcome', kind);
  if (!error) {
    el.textContent = text;
    return;
  }
  const meaning = explainRefusal(error.code);
  const status = error.status ? ` (HTTP ${error.status})` : '';
  el.textContent = `${text} Refused: ${error.code}${status}. ${meaning ? `${meaning} ` : ''}Backstop said: ${error.message}`;
}
