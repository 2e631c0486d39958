// The approval queue: escalations, pending first, filtered by state,
// service and environment (the filters live in the hash, so a filtered
// queue is a link).

import { api, withQuery } from './api.js';
import { h, rerender, badge, countdown, replaceChildren, route, time } from './dom.js';
import { ESCALATION_STATES } from './words.js';
import { reasonList, statusLine } from './sections.js';

function filterForm(params) {
  const state = params.get('state') || 'pending';
  const select = h('select', { id: 'filter-state', name: 'state' },
    [...ESCALATION_STATES, 'all'].map((s) => h('option', { value: s, selected: s === state }, s === 'all' ? 'all states' : s)));
  const service = h('input', { id: 'filter-service', name: 'service', value: params.get('service') || '', autocomplete: 'off', spellcheck: 'false' });
  const environment = h('input', { id: 'filter-environment', name: 'environment', value: params.get('environment') || '', autocomplete: 'off', spellcheck: 'false' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter escalations' },
    h('div', {}, h('label', { for: 'filter-state' }, 'State'), select),
    h('div', {}, h('label', { for: 'filter-service' }, 'Service'), service),
    h('div', {}, h('label', { for: 'filter-environment' }, 'Environment'), environment),
    h('div', {}, h('button', { type: 'submit' }, 'Apply filters')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    if (select.value !== 'pending') q.set('state', select.value);
    if (service.value.trim()) q.set('service', service.value.trim());
    if (environment.value.trim()) q.set('environment', environment.value.trim());
    const text = q.toString();
    location.hash = `#/escalations${text ? `?${text}` : ''}`;
  });
  return form;
}

function approvalsText(e) {
  const got = (e.approvals || []).length;
  const names = got ? ` (${e.approvals.map((a) => a.by).join(', ')})` : '';
  return `${got} of ${e.required_approvals} approvals received${names}`;
}

function card(e) {
  const action = e.proposed_action || {};
  const change = action.type === 'contain'
    ? `Contain at ${action.from_version}`
    : `Roll back ${action.from_version} → ${action.to_version || 'no known previous version'}`;
  return h('li', { class: 'card', 'data-testid': `escalation-${e.id}`, 'data-state': e.state },
    h('div', { class: 'card-head' },
      h('h2', {}, h('a', { href: route('escalations', e.id) }, `${e.service} · ${e.environment}`)),
      badge('escalation', e.state)),
    h('p', { class: 'versions' },
      h('span', { class: 'version-change', 'data-testid': 'versions' }, change),
      ' · class ', h('code', {}, e.release_class)),
    h('div', { class: 'card-body' },
      h('div', {}, h('h3', {}, 'Why a human decides'), reasonList(e.reasons)),
      h('dl', { class: 'facts' },
        h('div', {}, h('dt', {}, 'Approvals'), h('dd', { 'data-testid': 'approvals' }, approvalsText(e))),
        e.state === 'pending'
          ? h('div', {}, h('dt', {}, 'Time left'), h('dd', { 'data-testid': 'countdown' }, countdown(e.expires_at)))
          : h('div', {}, h('dt', {}, 'Decided'), h('dd', {}, time(e.decided_at), e.decided_by ? ` by ${e.decided_by}` : '')),
        h('div', {}, h('dt', {}, 'Opened'), h('dd', {}, time(e.created_at))),
        h('div', {}, h('dt', {}, 'Release'), h('dd', {}, h('a', { href: route('releases', e.release_id) }, e.release_id))))));
}

// Pending first, then newest first (the API's order) within each group.
function pendingFirst(list) {
  return list.map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.state === 'pending' ? 0 : 1) - (b.e.state === 'pending' ? 0 : 1) || a.i - b.i)
    .map(({ e }) => e);
}

export function queueView(root, params) {
  const state = params.get('state') || 'pending';
  const status = statusLine();
  const list = h('div', { class: 'queue' });
  root.appendChild(h('h1', { tabindex: -1 }, 'Approval queue'));
  root.appendChild(filterForm(params));
  root.appendChild(status.el);
  root.appendChild(list);
  let last = null;

  async function refresh() {
    let data;
    try {
      data = await api('GET', withQuery('/v1/escalations', {
        state: state === 'all' ? '' : state,
        service: params.get('service'),
        environment: params.get('environment'),
        limit: 500,
      }));
    } catch (e) {
      status.fail(e);
      return;
    }
    status.ok();
    const text = JSON.stringify(data.escalations);
    if (text === last) return; // unchanged: keep the DOM (and the reader's focus) as it is
    last = text;
    const items = pendingFirst(data.escalations || []);
    if (!items.length) {
      rerender(list, h('p', { class: 'empty' },
        state === 'all' ? 'No escalation matches these filters.' : `No ${state} escalation matches these filters.`));
      return;
    }
    rerender(list,
      h('p', { class: 'count' }, `${items.length} escalation${items.length === 1 ? '' : 's'}` +
        `${items.length >= 500 ? ' (the newest 500)' : ''}.`),
      h('ul', { class: 'cards' }, items.map(card)));
  }

  return { refresh };
}
