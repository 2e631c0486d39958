// One escalation: what is proposed and why, the evidence as charts, the
// release's history, and the approve / reject controls.
//
// The decision form is built once, when the page first finds the
// escalation pending, and polling never rebuilds it: a comment being typed
// is never wiped, and the buttons never move under the pointer. If the
// escalation stops being pending while the page is open, a notice says so;
// the API then refuses a click with the reason, which the page shows.

import { api, path, withQuery } from './api.js';
import { h, rerender, badge, countdown, replaceChildren, route, time, facts } from './dom.js';
import { describeAction } from './words.js';
import {
  auditSection, decisionsSection, evaluationSection, metadataFacts, outcomeMessage,
  reasonList, section, statusLine,
} from './sections.js';

function approvalsList(e) {
  const got = e.approvals || [];
  return h('div', {},
    h('p', { 'data-testid': 'approvals' }, `${got.length} of ${e.required_approvals} approvals received.`),
    got.length ? h('ul', { class: 'approvals' }, got.map((a) => h('li', {},
      h('strong', {}, a.by), ' at ', time(a.at),
      a.comment ? [': ', h('q', { class: 'comment' }, a.comment)] : ''))) : null);
}

function summaryFacts(e, release) {
  const action = e.proposed_action || {};
  return [
    h('p', { class: 'proposal', 'data-testid': 'proposed-action' },
      h('strong', {}, 'Proposed action: '), describeAction(action, e.service, e.environment)),
    facts([
    action.type === 'contain'
      ? ['Contain at', action.from_version]
      : ['Roll back', `${action.from_version} → ${action.to_version || 'no known previous version'}`],
    ['Release', h('span', {}, h('a', { href: route('releases', e.release_id) }, e.release_id),
      release ? [' ', badge('release', release.status)] : '')],
    ['Release class', h('code', {}, e.release_class)],
    ['Approvals', approvalsList(e)],
    ['Opened', time(e.created_at)],
    e.state === 'pending'
      ? ['Expires', h('span', {}, time(e.expires_at), ' — ', countdown(e.expires_at))]
      : ['Decided', e.decided_at ? h('span', {}, time(e.decided_at), e.decided_by ? ` by ${e.decided_by}` : '') : 'not by a person'],
    ], { 'data-testid': 'escalation-facts' })];
}

function deploymentSection(release) {
  if (!release) return section('Deployment', h('p', {}, 'The release could not be read.'));
  return section('Deployment',
    facts([
      ['Service', release.service],
      ['Environment', release.environment],
      ['Deployed by', release.deployed_by],
      ['Triggered by', release.triggered_by || 'not given'],
      ['Traffic', `${release.traffic_percent}%`],
      ['Shared infrastructure', release.shared_infrastructure ? 'yes' : 'no'],
      ['Started', time(release.started_at)],
    ]),
    h('h3', {}, 'Deployment metadata'),
    metadataFacts(release));
}

// The approve / reject form for escalation `e`, with `afterDecision` run
// after every answer (the page re-reads the escalation).
function decisionForm(e, afterDecision) {
  const action = e.proposed_action || {};
  const noun = action.type === 'contain' ? 'containment' : 'rollback';
  const comment = h('textarea', {
    id: 'comment', 'data-testid': 'comment', rows: 3, maxlength: 4096,
    'aria-describedby': 'comment-help',
  });
  const approve = h('button', { type: 'button', class: 'approve', 'data-testid': 'approve' }, `Approve ${noun}`);
  const reject = h('button', { type: 'button', class: 'reject', 'data-testid': 'reject' }, 'Reject (keep the release)');
  const message = h('div', { class: 'message', role: 'alert', 'data-testid': 'decision-message' });
  const notice = h('p', { class: 'notice', 'data-testid': 'state-notice', hidden: true });
  let busy = false;
  let closed = false;

  function close(text) {
    closed = true;
    approve.hidden = true;
    reject.hidden = true;
    comment.disabled = true;
    notice.hidden = false;
    notice.textContent = text;
  }

  async function decide(verb) {
    if (busy || closed) return;
    const text = comment.value;
    if (verb === 'reject' && !text.trim()) {
      // Refused here, before any request: the API would answer 400 too.
      comment.setAttribute('aria-invalid', 'true');
      outcomeMessage(message, 'invalid',
        'A comment is required to reject: write why the release should stay as it is, then press Reject again.');
      comment.focus();
      return;
    }
    comment.removeAttribute('aria-invalid');
    busy = true;
    approve.disabled = true;
    reject.disabled = true;
    outcomeMessage(message, 'pending', verb === 'approve' ? 'Sending the approval…' : 'Sending the rejection…');
    try {
      const body = text.trim() ? { comment: text } : {};
      const answer = await api('POST', path('/v1/escalations', e.id, verb), body);
      const after = answer.escalation;
      const got = (after.approvals || []).length;
      let done;
      if (verb === 'reject') done = 'Rejected: the release stays as it is and nothing more is decided in this episode.';
      else if (after.state === 'approved') done = `Approved (${got} of ${after.required_approvals}): the ${noun} is queued.`;
      else done = `Approval recorded (${got} of ${after.required_approvals}); another approver is needed.`;
      outcomeMessage(message, 'done', done);
      comment.value = '';
      if (after.state !== 'pending') close(`This escalation is ${after.state}.`);
    } catch (err) {
      outcomeMessage(message, 'refused', verb === 'approve' ? 'The approval was not recorded.' : 'The rejection was not recorded.', err);
      if (['approved', 'rejected', 'expired', 'superseded'].includes(err.code)) close(`This escalation is ${err.code}; it can no longer be decided.`);
    } finally {
      busy = false;
      approve.disabled = false;
      reject.disabled = false;
    }
    afterDecision();
  }

  approve.addEventListener('click', () => decide('approve'));
  reject.addEventListener('click', () => decide('reject'));

  const el = section('Decide',
    h('p', {}, e.required_approvals > 1
      ? `Approving adds your approval; the ${noun} is queued once ${e.required_approvals} different people approved. `
      : `Approving queues the ${noun} at once. `,
    'Rejecting keeps the release as it is and needs a comment. You cannot decide on a release you deployed or triggered.'),
    notice,
    h('div', { class: 'field' },
      h('label', { for: 'comment' }, 'Comment'),
      h('p', { id: 'comment-help', class: 'help' }, 'Optional to approve, required to reject. Recorded with your decision and in the audit log.'),
      comment),
    h('div', { class: 'buttons' }, approve, reject),
    message);
  el.classList.add('decide');
  return {
    el,
    // Polling saw the state change: say so, keep the controls (the API decides).
    observe(state) {
      if (closed || busy) return;
      if (state === 'pending') {
        notice.hidden = true;
      } else {
        notice.hidden = false;
        notice.textContent = `This escalation became ${state} while this page was open; deciding now will be refused.`;
      }
    },
  };
}

export function escalationView(root, id) {
  const status = statusLine();
  const heading = h('h1', { tabindex: -1 }, `Escalation ${id}`);
  const stateLine = h('p', { class: 'state-line' });
  const top = h('div');
  const decideSlot = h('div');
  const rest = h('div');
  const article = h('article', { class: 'escalation', 'data-testid': `escalation-${id}` },
    heading, stateLine, status.el, top, decideSlot, rest);
  root.appendChild(h('p', { class: 'crumbs' }, h('a', { href: '#/escalations' }, '← Approval queue')));
  root.appendChild(article);
  let form = null;
  let lastTop = null;
  let lastRest = null;
  let disposed = false;

  async function refresh() {
    let e;
    try {
      e = (await api('GET', path('/v1/escalations', id))).escalation;
    } catch (err) {
      status.fail(err);
      return;
    }
    const [release, audit] = await Promise.all([
      api('GET', path('/v1/releases', e.release_id)).then((r) => r.release, () => null),
      api('GET', withQuery('/v1/audit', { release_id: e.release_id, limit: 200 })).then((r) => r.entries, () => null),
    ]);
    if (disposed) return;
    status.ok();
    heading.textContent = `Escalation: ${e.service} · ${e.environment}`;
    replaceChildren(stateLine, badge('escalation', e.state), ' ', e.summary || '', ' ', h('code', {}, e.id));

    const topKey = JSON.stringify([e, release && release.status]);
    if (topKey !== lastTop) {
      lastTop = topKey;
      rerender(top, summaryFacts(e, release));
    }
    if (!form && e.state === 'pending') {
      form = decisionForm(e, () => refresh());
      decideSlot.appendChild(form.el);
    } else if (form) {
      form.observe(e.state);
    } else if (!decideSlot.firstChild) {
      decideSlot.appendChild(section('Decide', h('p', { 'data-testid': 'state-notice' },
        `This escalation is ${e.state}; there is nothing to decide.`)));
    }

    const restKey = JSON.stringify([e.reasons, e.evidence, release, audit]);
    if (restKey === lastRest) return;
    lastRest = restKey;
    const versions = { canary: (e.proposed_action || {}).from_version, baseline: (e.proposed_action || {}).to_version };
    rerender(rest,
      section('Why a human decides', reasonList(e.reasons, { 'data-testid': 'reasons' })),
      evaluationSection('Evidence: the evaluation that opened this escalation', e.evidence, versions),
      deploymentSection(release),
      release ? decisionsSection(release.decisions) : null,
      audit ? auditSection(audit) : section('Audit entries', h('p', {}, 'The audit log could not be read.')));
  }

  return {
    refresh,
    dispose() {
      disposed = true;
    },
  };
}
