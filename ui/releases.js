// Releases: a filtered list, and one release with its live evaluation,
// escalations, actions (attempts, last error), decisions and audit entries.

import { api, path, withQuery } from './api.js';
import { h, rerender, badge, facts, replaceChildren, route, time } from './dom.js';
import { RELEASE_STATUSES, VERDICTS } from './words.js';
import {
  actionsSection, auditSection, decisionsSection, escalationLinks, evaluationSection, metadataFacts, section,
  statusLine,
} from './sections.js';

function filterForm(params) {
  const status = params.get('status') || '';
  const select = h('select', { id: 'filter-status', name: 'status' },
    h('option', { value: '', selected: status === '' }, 'any status'),
    RELEASE_STATUSES.map((s) => h('option', { value: s, selected: s === status }, s.replace(/_/g, ' '))));
  const service = h('input', { id: 'filter-service', value: params.get('service') || '', autocomplete: 'off', spellcheck: 'false' });
  const environment = h('input', { id: 'filter-environment', value: params.get('environment') || '', autocomplete: 'off', spellcheck: 'false' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter releases' },
    h('div', {}, h('label', { for: 'filter-status' }, 'Status'), select),
    h('div', {}, h('label', { for: 'filter-service' }, 'Service'), service),
    h('div', {}, h('label', { for: 'filter-environment' }, 'Environment'), environment),
    h('div', {}, h('button', { type: 'submit' }, 'Apply filters')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    if (select.value) q.set('status', select.value);
    if (service.value.trim()) q.set('service', service.value.trim());
    if (environment.value.trim()) q.set('environment', environment.value.trim());
    const text = q.toString();
    location.hash = `#/releases${text ? `?${text}` : ''}`;
  });
  return form;
}

function releaseCard(r) {
  const verdict = r.evaluation && r.evaluation.verdict;
  return h('li', { class: 'card', 'data-testid': `release-${r.id}`, 'data-status': r.status },
    h('div', { class: 'card-head' },
      h('h2', {}, h('a', { href: route('releases', r.id) }, `${r.service} · ${r.environment} · ${r.version}`)),
      badge('release', r.status)),
    h('dl', { class: 'facts' },
      h('div', {}, h('dt', {}, 'Previous version'), h('dd', {}, r.previous_version || 'unknown')),
      h('div', {}, h('dt', {}, 'Class'), h('dd', {}, h('code', {}, r.release_class), ` v${r.thresholds_version}`)),
      h('div', {}, h('dt', {}, 'Traffic'), h('dd', {}, `${r.traffic_percent}%`)),
      h('div', {}, h('dt', {}, 'Verdict'), h('dd', {}, verdict ? [badge('verdict', verdict), ` ${VERDICTS[verdict] || ''}`] : 'not evaluated yet')),
      h('div', {}, h('dt', {}, 'Started'), h('dd', {}, time(r.started_at)))));
}

export function releaseListView(root, params) {
  const status = statusLine();
  const list = h('div');
  root.appendChild(h('h1', { tabindex: -1 }, 'Releases'));
  root.appendChild(filterForm(params));
  root.appendChild(status.el);
  root.appendChild(list);
  let last = null;

  async function refresh() {
    let data;
    try {
      data = await api('GET', withQuery('/v1/releases', {
        status: params.get('status'), service: params.get('service'), environment: params.get('environment'), limit: 200,
      }));
    } catch (e) {
      status.fail(e);
      return;
    }
    status.ok();
    const text = JSON.stringify(data.releases);
    if (text === last) return;
    last = text;
    const items = data.releases || [];
    rerender(list, items.length
      ? [h('p', { class: 'count' }, `${items.length} release${items.length === 1 ? '' : 's'}, newest first.`),
        h('ul', { class: 'cards' }, items.map(releaseCard))]
      : h('p', { class: 'empty' }, 'No release matches these filters.'));
  }
  return { refresh };
}

export function releaseView(root, id) {
  const status = statusLine();
  const heading = h('h1', { tabindex: -1 }, `Release ${id}`);
  const body = h('div');
  root.appendChild(h('p', { class: 'crumbs' }, h('a', { href: '#/releases' }, '← Releases')));
  root.appendChild(h('article', { class: 'release', 'data-testid': `release-${id}` }, heading, status.el, body));
  let last = null;
  let disposed = false;

  async function refresh() {
    let release;
    try {
      release = (await api('GET', path('/v1/releases', id))).release;
    } catch (e) {
      status.fail(e);
      return;
    }
    const [actions, escalations, audit] = await Promise.all([
      api('GET', withQuery('/v1/actions', { release_id: id, limit: 100 })).then((r) => r.actions, () => null),
      api('GET', withQuery('/v1/escalations', { release_id: id, limit: 100 })).then((r) => r.escalations, () => null),
      api('GET', withQuery('/v1/audit', { release_id: id, limit: 200 })).then((r) => r.entries, () => null),
    ]);
    if (disposed) return;
    status.ok();
    const key = JSON.stringify([release, actions, escalations, audit]);
    if (key === last) return;
    last = key;
    heading.textContent = `Release: ${release.service} · ${release.environment} · ${release.version}`;
    const versions = { canary: release.version, baseline: release.previous_version };
    rerender(body,
      h('p', { class: 'state-line' }, badge('release', release.status), ' ', h('code', {}, release.id)),
      facts([
        ['Version', release.version],
        ['Previous version', (release.previous_version || 'unknown') +
          (release.previous_version_inferred ? ' (inferred from the newest healthy release)' : '')],
        ['Class', h('span', {}, h('code', {}, release.release_class), ` thresholds version ${release.thresholds_version}`)],
        ['Traffic', `${release.traffic_percent}%`],
        ['Shared infrastructure', release.shared_infrastructure ? 'yes' : 'no'],
        ['Deployed by', release.deployed_by],
        ['Triggered by', release.triggered_by || 'not given'],
        ['Started', time(release.started_at)],
        ['Updated', time(release.updated_at)],
      ], { 'data-testid': 'release-facts' }),
      section('Deployment metadata', metadataFacts(release)),
      evaluationSection('Live evaluation', release.evaluation, versions),
      section('Escalations', escalations ? escalationLinks(escalations) : h('p', {}, 'The escalations could not be read.')),
      actions ? actionsSection(actions) : section('Actions', h('p', {}, 'The actions could not be read.')),
      decisionsSection(release.decisions),
      audit ? auditSection(audit) : section('Audit entries', h('p', {}, 'The audit log could not be read.')));
  }
  return {
    refresh,
    dispose() {
      disposed = true;
    },
  };
}
