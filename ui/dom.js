// DOM building and formatting shared by every view.
//
// Escaping rule of the whole page: data from the API only ever reaches the
// document as text (text nodes, textContent) or as attribute values set
// with setAttribute. Nothing here or anywhere else assigns innerHTML,
// outerHTML or insertAdjacentHTML, and no URL is built from data except
// "#/..." links with encodeURIComponent'ed ids.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(el, c);
  } else if (child instanceof Node) {
    el.appendChild(child);
  } else {
    el.appendChild(document.createTextNode(String(child)));
  }
}

function setAttributes(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'hidden' || key === 'disabled' || key === 'required') {
      el[key] = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

// h('p', {class: 'x'}, 'text', child, [more]) builds an HTML element.
// Strings become text nodes, never markup.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

// The same for SVG elements (charts).
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

export function replaceChildren(el, ...children) {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, children);
}

// A link inside the page: "#/escalations/" + the id, encoded.
export function route(...parts) {
  return '#/' + parts.map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join('/');
}

export function link(text, ...parts) {
  return h('a', { href: route(...parts) }, text);
}

// Numbers: up to 4 significant digits, small p-values in scientific notation.
export function formatNumber(v) {
  if (v === null || v === undefined || Number.isNaN(Number(v))) return 'no value';
  const n = Number(v);
  if (n === 0) return '0';
  if (Math.abs(n) < 1e-4 || Math.abs(n) >= 1e9) return n.toExponential(2);
  return String(Number(n.toPrecision(4)));
}

export function formatPValue(p) {
  if (p === null || p === undefined) return null;
  return p < 1e-4 ? p.toExponential(2) : String(Number(p.toPrecision(3)));
}

// A <time> element: local time as text, the API's UTC instant as datetime
// and tooltip.
export function time(iso) {
  if (!iso) return h('span', {}, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', {}, iso);
  return h('time', { datetime: iso, title: iso }, formatLocal(d));
}

export function formatLocal(d) {
  return d.toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
  });
}

export function formatClock(d) {
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

// "1h 02m 05s"
export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n) => String(n).padStart(2, '0');
  if (hours > 0) return `${hours}h ${pad(minutes)}m ${pad(seconds)}s`;
  if (minutes > 0) return `${minutes}m ${pad(seconds)}s`;
  return `${seconds}s`;
}

// A live countdown to `iso`: the app's one-second ticker rewrites every
// element carrying data-expires-at (see tickCountdowns).
export function countdown(iso) {
  const el = h('span', { class: 'countdown', 'data-expires-at': iso });
  updateCountdown(el);
  return el;
}

function updateCountdown(el) {
  const at = Date.parse(el.getAttribute('data-expires-at'));
  if (Number.isNaN(at)) {
    el.textContent = 'unknown expiry';
    return;
  }
  const left = at - Date.now();
  const text = left > 0 ? `expires in ${formatDuration(left)}` : `expired ${formatDuration(-left)} ago`;
  if (el.textContent !== text) el.textContent = text;
  el.classList.toggle('soon', left > 0 && left < 10 * 60 * 1000);
  el.classList.toggle('past', left <= 0);
}

export function tickCountdowns(root) {
  for (const el of root.querySelectorAll('[data-expires-at]')) updateCountdown(el);
}

// A small definition list from [label, value] pairs; null values are skipped.
export function facts(pairs, attrs = {}) {
  const dl = h('dl', { class: 'facts', ...attrs });
  for (const [label, value] of pairs) {
    if (value === null || value === undefined) continue;
    dl.appendChild(h('div', {}, h('dt', {}, label), h('dd', {}, value)));
  }
  return dl;
}

// A state word in a badge: the word itself carries the meaning, the colour
// (per data-state) only repeats it.
export function badge(kind, state) {
  return h('span', { class: `badge ${kind}`, 'data-state': state }, String(state).replace(/_/g, ' '));
}

// JSON for people: pretty, as text.
export function jsonText(value) {
  return h('pre', { class: 'json' }, h('code', {}, JSON.stringify(value, null, 2)));
}

// A stable key for an element, so the same element can be found again after
// a re-render: its id, its link target, or its data-key.
function keyOf(el) {
  if (el.id) return `#${CSS.escape(el.id)}`;
  if (el.hasAttribute('data-key')) return `[data-key="${CSS.escape(el.getAttribute('data-key'))}"]`;
  if (el.tagName === 'A' && el.hasAttribute('href')) return `a[href="${CSS.escape(el.getAttribute('href'))}"]`;
  return null;
}

// replaceChildren for the polling re-render: whatever had the focus and
// every open <details data-key> inside `el` are the same afterwards, so a
// keyboard user reading the page is not thrown back to its top.
export function rerender(el, ...children) {
  const active = document.activeElement;
  const focusKey = active && el.contains(active) ? keyOf(active) : null;
  const open = [...el.querySelectorAll('details[open][data-key]')].map((d) => d.getAttribute('data-key'));
  replaceChildren(el, ...children);
  for (const key of open) {
    const d = el.querySelector(`details[data-key="${CSS.escape(key)}"]`);
    if (d) d.open = true;
  }
  if (focusKey) {
    const again = el.querySelector(focusKey);
    if (again) again.focus({ preventScroll: true });
  }
}
