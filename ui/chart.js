// Evidence charts: for one signal and source, the canary aggregate against
// the baseline aggregate against the absolute bound, drawn as inline SVG.
//
// The evidence holds aggregates (value, samples, newest sample), not the raw
// series, so each chart is a pair of bars on one axis with the bound as a
// dashed line and the side of it that is bad hatched. Every number is also
// written as text beside its bar, and the bars differ in fill pattern as
// well as colour, so nothing depends on colour alone. The elements carry
// data-series="canary" | "baseline" | "bound" | "bad-zone" for scripts.

import { h, s, formatNumber, formatPValue, time } from './dom.js';
import { SIGNAL_STATES } from './words.js';

const WIDTH = 640;
const LEFT = 8;
const RIGHT = WIDTH - 8;
const HEIGHT = 124;
const AXIS_Y = 100;

let chartCount = 0;

function scale(lo, hi) {
  return (v) => LEFT + ((v - lo) / (hi - lo)) * (RIGHT - LEFT);
}

function cohortLine(label, version, agg) {
  if (!agg || agg.value === null || agg.value === undefined) {
    return `${label}${version ? ` ${version}` : ''}: no samples`;
  }
  const n = agg.samples === 1 ? '1 sample' : `${agg.samples} samples`;
  return `${label}${version ? ` ${version}` : ''}: ${formatNumber(agg.value)} (${n})`;
}

function boundWords(signal) {
  if (signal.bound === null || signal.bound === undefined) return 'no absolute bound';
  return signal.bad_when === 'below'
    ? `bound: at least ${formatNumber(signal.bound)}`
    : `bound: at most ${formatNumber(signal.bound)}`;
}

function svgChart(signal, versions, titleId) {
  const id = ++chartCount;
  const canary = signal.canary && signal.canary.value !== null ? Number(signal.canary.value) : null;
  const baseline = signal.baseline && signal.baseline.value !== null ? Number(signal.baseline.value) : null;
  const bound = signal.bound === null || signal.bound === undefined ? null : Number(signal.bound);
  const values = [canary, baseline, bound].filter((v) => v !== null && Number.isFinite(v));
  let lo = Math.min(0, ...values);
  let hi = values.length ? Math.max(...values) : 1;
  hi = hi > 0 ? hi * 1.15 : hi + 1;
  if (hi <= lo) hi = lo + 1;
  const x = scale(lo, hi);

  const hatchBad = `hatch-bad-${id}`;
  const hatchBase = `hatch-base-${id}`;
  const svg = s('svg', {
    class: 'chart',
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'img',
    'aria-labelledby': titleId,
    'data-signal': signal.name,
    'data-source': signal.source,
  });
  svg.appendChild(s('title', { id: titleId },
    `${signal.name} from ${signal.source}: ${cohortLine('canary', versions.canary, signal.canary)}, ` +
    `${cohortLine('baseline', versions.baseline, signal.baseline)}, ${boundWords(signal)}`));
  svg.appendChild(s('defs', {},
    s('pattern', { id: hatchBad, width: 8, height: 8, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
      s('rect', { width: 8, height: 8, class: 'hatch-bg-bad' }),
      s('line', { x1: 0, y1: 0, x2: 0, y2: 8, class: 'hatch-line-bad' })),
    s('pattern', { id: hatchBase, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(-45)' },
      s('rect', { width: 6, height: 6, class: 'hatch-bg-base' }),
      s('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'hatch-line-base' }))));

  if (bound !== null) {
    const bx = x(bound);
    const zone = signal.bad_when === 'below'
      ? { x: LEFT, width: Math.max(0, bx - LEFT) }
      : { x: bx, width: Math.max(0, RIGHT - bx) };
    svg.appendChild(s('rect', {
      'data-series': 'bad-zone', x: zone.x, y: 4, width: zone.width, height: AXIS_Y - 4,
      fill: `url(#${hatchBad})`, class: 'bad-zone',
    }, s('title', {}, signal.bad_when === 'below' ? 'worse than the bound (below it)' : 'worse than the bound (above it)')));
  }

  const rows = [
    { series: 'canary', label: 'Canary', version: versions.canary, agg: signal.canary, value: canary, y: 24 },
    { series: 'baseline', label: 'Baseline', version: versions.baseline, agg: signal.baseline, value: baseline, y: 70 },
  ];
  for (const row of rows) {
    svg.appendChild(s('text', { x: LEFT, y: row.y - 6, class: `label label-${row.series}` },
      cohortLine(row.label, row.version, row.agg)));
    if (row.value !== null && Number.isFinite(row.value)) {
      const x0 = x(Math.min(0, row.value));
      const x1 = x(Math.max(0, row.value));
      svg.appendChild(s('rect', {
        'data-series': row.series, 'data-value': row.value,
        x: x0, y: row.y, width: Math.max(1, x1 - x0), height: 20,
        class: `bar bar-${row.series}`,
        fill: row.series === 'baseline' ? `url(#${hatchBase})` : null,
      }));
    }
  }

  // Axis with the domain's ends and the bound.
  svg.appendChild(s('line', { x1: LEFT, y1: AXIS_Y, x2: RIGHT, y2: AXIS_Y, class: 'axis' }));
  svg.appendChild(s('text', { x: LEFT, y: AXIS_Y + 14, class: 'tick' }, formatNumber(lo)));
  svg.appendChild(s('text', { x: RIGHT, y: AXIS_Y + 14, class: 'tick', 'text-anchor': 'end' }, formatNumber(hi)));
  if (bound !== null) {
    const bx = x(bound);
    svg.appendChild(s('line', {
      'data-series': 'bound', 'data-value': bound,
      x1: bx, y1: 4, x2: bx, y2: AXIS_Y, class: 'bound',
    }));
    const anchor = bx > RIGHT - 90 ? 'end' : bx < LEFT + 90 ? 'start' : 'middle';
    svg.appendChild(s('text', { x: bx, y: AXIS_Y + 20, class: 'tick bound-label', 'text-anchor': anchor },
      boundWords(signal)));
  }
  return svg;
}

function breachWords(signal) {
  const parts = [];
  if (signal.absolute_breach) parts.push('the canary is past its absolute bound');
  if (signal.baseline_breach) parts.push('the canary is worse than the baseline by the ratio and the minimum difference');
  return parts.length ? `Why: ${parts.join('; ')}.` : null;
}

function pValueWords(signal) {
  const p = formatPValue(signal.p_value);
  if (p === null) return 'Mann-Whitney U test: not run (no baseline comparison with a test, or too few baseline samples).';
  const worse = signal.bad_when === 'below' ? 'smaller' : 'larger';
  return `Mann-Whitney U test, canary ${worse} than baseline: p = ${p}.`;
}

// A <figure> for one signal and source. `versions` = {canary, baseline}.
export function signalChart(signal, versions = {}) {
  const id = `chart-${++chartCount}`;
  const state = signal.state || 'unknown';
  const caption = h('figcaption', {},
    h('strong', {}, signal.name),
    ` · source ${signal.source}`,
    signal.critical === false ? ' · evidence only (not critical)' : ' · critical',
    ' · ',
    h('span', { class: 'badge signal', 'data-state': state }, state),
    ` ${SIGNAL_STATES[state] || ''}`);
  const notes = h('ul', { class: 'chart-notes' },
    breachWords(signal) && h('li', {}, breachWords(signal)),
    h('li', { 'data-testid': 'p-value' }, pValueWords(signal)),
    signal.canary && signal.canary.newest_at && h('li', {}, 'Newest canary sample: ', time(signal.canary.newest_at)),
    signal.baseline && signal.baseline.newest_at && h('li', {}, 'Newest baseline sample: ', time(signal.baseline.newest_at)));
  return h('figure', {
    class: 'signal-chart',
    'data-testid': 'signal-chart',
    'data-signal': signal.name,
    'data-source': signal.source,
    'data-state': state,
  }, caption, svgChart(signal, versions, id), notes);
}

// Every signal of an evaluation, one chart each, grouped by signal name.
export function evidenceCharts(evaluation, versions) {
  const signals = (evaluation && evaluation.signals) || [];
  if (!signals.length) return h('p', {}, 'No signal was evaluated.');
  return h('div', { class: 'charts' }, signals.map((sig) => signalChart(sig, versions)));
}
