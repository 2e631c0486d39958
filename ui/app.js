// Backstop's approval queue page: sign-in, routing, polling and the mode
// banner. Views live in queue.js, escalation.js, releases.js and mode.js.
//
// Routes (the hash, so links from Slack and PagerDuty open the right view):
//   #/escalations[?state=&service=&environment=]   the queue (default)
//   #/escalations/{id}                             one escalation
//   #/releases[?service=&environment=&status=]     releases
//   #/releases/{id}                                one release
//   #/mode                                         the controller mode
//
// Every view re-reads the API every POLL_MS while the tab is visible; the
// countdowns tick every second from the last answer.

import { api, clearToken, getToken, onUnauthorized, setToken } from './api.js';
import { h, replaceChildren, tickCountdowns } from './dom.js';
import { MODES } from './words.js';
import { queueView } from './queue.js';
import { escalationView } from './escalation.js';
import { releaseListView, releaseView } from './releases.js';
import { modeView } from './mode.js';

export const POLL_MS = 5000;

const el = {
  signin: document.getElementById('signin'),
  signinForm: document.getElementById('signin-form'),
  token: document.getElementById('token'),
  signinMessage: document.getElementById('signin-message'),
  view: document.getElementById('view'),
  nav: document.getElementById('nav'),
  signOut: document.getElementById('sign-out'),
  banner: document.getElementById('mode-banner'),
  main: document.getElementById('main'),
  skip: document.getElementById('skip-link'),
};

let current = null;      // {view, key}
let pollTimer = null;
let tickTimer = null;
let refreshing = false;

function parseHash() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(2) : '';
  const q = raw.indexOf('?');
  const pathPart = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const segments = pathPart.split('/').filter((p) => p !== '').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch (e) {
      return p;
    }
  });
  return { segments, params, key: raw };
}

function mountView() {
  const { segments, params, key } = parseHash();
  if (current) current.view.dispose?.();
  replaceChildren(el.view);
  const [page, id] = segments;
  let view;
  if ((page === 'escalations' || page === undefined) && id === undefined) view = queueView(el.view, params);
  else if (page === 'escalations') view = escalationView(el.view, id);
  else if (page === 'releases' && id === undefined) view = releaseListView(el.view, params);
  else if (page === 'releases') view = releaseView(el.view, id);
  else if (page === 'mode') view = modeView(el.view, { onModeChanged: refreshBanner });
  else view = notFoundView(el.view);
  current = { view, key };
  markNav(page || 'escalations');
  // A new page: move focus to its heading so keyboard and screen-reader
  // users start there, not at the end of the previous page.
  const heading = el.view.querySelector('h1');
  if (heading) heading.focus({ preventScroll: false });
  refreshNow();
}

function notFoundView(root) {
  root.appendChild(h('h1', { tabindex: -1 }, 'Not found'));
  root.appendChild(h('p', {}, 'This page does not exist. ', h('a', { href: '#/escalations' }, 'Go to the approval queue.')));
  return { refresh: async () => {} };
}

function markNav(page) {
  for (const a of el.nav.querySelectorAll('a[data-nav]')) {
    if (a.getAttribute('data-nav') === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function refreshBanner() {
  let mode;
  try {
    mode = (await api('GET', '/v1/mode')).mode;
  } catch (e) {
    return; // the view shows the error; a 401 already went to the prompt
  }
  if (mode === 'normal') {
    el.banner.hidden = true;
    replaceChildren(el.banner);
    return;
  }
  el.banner.hidden = false;
  el.banner.setAttribute('data-mode', mode);
  replaceChildren(el.banner,
    h('strong', {}, `Mode: ${mode.replace('_', ' ')}.`), ' ', MODES[mode] || '', ' ',
    h('a', { href: '#/mode' }, 'See or change the mode'));
}

async function refreshNow() {
  if (refreshing || !getToken() || !current) return;
  refreshing = true;
  try {
    await Promise.all([refreshBanner(), current.view.refresh()]);
  } finally {
    refreshing = false;
  }
}

function startPolling() {
  stopPolling();
  pollTimer = setInterval(() => {
    if (document.visibilityState === 'visible') refreshNow();
  }, POLL_MS);
  tickTimer = setInterval(() => tickCountdowns(document), 1000);
}

function stopPolling() {
  if (pollTimer) clearInterval(pollTimer);
  if (tickTimer) clearInterval(tickTimer);
  pollTimer = null;
  tickTimer = null;
}

function showSignIn(message) {
  clearToken();
  stopPolling();
  if (current) current.view.dispose?.();
  current = null;
  replaceChildren(el.view);
  el.view.hidden = true;
  el.nav.hidden = true;
  el.signOut.hidden = true;
  el.banner.hidden = true;
  el.signin.hidden = false;
  el.signinMessage.textContent = message || '';
  el.token.value = '';
  el.token.focus();
}

function showApp() {
  el.signin.hidden = true;
  el.signinMessage.textContent = '';
  el.view.hidden = false;
  el.nav.hidden = false;
  el.signOut.hidden = false;
  startPolling();
  mountView();
}

async function signIn(event) {
  event.preventDefault();
  const token = el.token.value.trim();
  if (!token) {
    el.signinMessage.textContent = 'Enter a token.';
    el.token.focus();
    return;
  }
  setToken(token);
  el.token.value = '';
  try {
    // Any read route checks the token; the mode is needed for the banner anyway.
    await api('GET', '/v1/mode');
  } catch (e) {
    if (e.status !== 401) {
      clearToken();
      el.signinMessage.textContent = `Could not check the token: ${e.code} — ${e.message}`;
    }
    return; // a 401 already showed the prompt with its message
  }
  showApp();
}

function signOut() {
  showSignIn('Signed out. The token was removed from this tab.');
}

onUnauthorized((message) => showSignIn(message));
el.signinForm.addEventListener('submit', signIn);
el.signOut.addEventListener('click', signOut);
el.skip.addEventListener('click', (event) => {
  // The hash is the router's: move focus without touching it.
  event.preventDefault();
  el.main.focus();
});
window.addEventListener('hashchange', () => {
  if (!getToken()) return;
  if (current && parseHash().key === current.key) return;
  mountView();
});

if (getToken()) showApp();
else showSignIn('');
