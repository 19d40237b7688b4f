// @ts-check
/** The ingest-rate chart: GET /datasets/{id}/stats drawn as inline SVG bars, one per minute. */
import { api, isObject, seg } from './api.js';
import { h, s } from './dom.js';
import { count } from './format.js';

/**
 * @typedef {object} Minute
 * @property {string} start
 * @property {number} received
 * @property {number} changes
 */

/**
 * @typedef {object} Stats
 * @property {number} received
 * @property {number} changes
 * @property {Minute[]} minutes
 */

/** @param {string} dataset @param {AbortSignal} [signal] @returns {Promise<Stats>} */
export async function loadStats(dataset, signal) {
  const json = (await api(`/datasets/${seg(dataset)}/stats`, { signal })).json;
  if (!isObject(json) || !Array.isArray(json.minutes)) throw new Error('unexpected figures from the hub');
  return /** @type {Stats} */ (json);
}

const W = 600;
const H = 150;
const LEFT = 56;
const RIGHT = 4;
const TOP = 10;
const BOTTOM = 22;

/** A round top for the y axis: 1, 2, 5, 10, 20, 50… @param {number} max */
function niceMax(max) {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/**
 * Bars of records received per minute, with the changes they made drawn inside each bar, oldest
 * minute left, the current one right; a tooltip per bar and a one-line summary under the chart.
 * @param {HTMLElement} container @param {Stats} stats
 */
export function drawChart(container, stats) {
  const mins = stats.minutes;
  const top = niceMax(Math.max(0, ...mins.map((m) => m.received)));
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const step = plotW / Math.max(1, mins.length);
  /** @param {number} v */
  const y = (v) => TOP + plotH - (v / top) * plotH;

  const summary = `${count(stats.received)} records received, ${count(stats.changes)} changes in the last hour`;
  const svg = s(
    'svg',
    {
      viewBox: `0 0 ${W} ${H}`,
      role: 'img',
      'aria-label': `Ingest rate per minute: ${summary}`,
      class: 'chart-svg',
    },
    s('line', { x1: LEFT, x2: W - RIGHT, y1: y(0), y2: y(0), class: 'axis' }),
    s('line', { x1: LEFT, x2: W - RIGHT, y1: y(top), y2: y(top), class: 'grid' }),
    s('text', { x: LEFT - 6, y: y(top) + 4, class: 'tick', 'text-anchor': 'end' }, count(top)),
    s('text', { x: LEFT - 6, y: y(0) + 4, class: 'tick', 'text-anchor': 'end' }, '0'),
    s('text', { x: LEFT, y: H - 6, class: 'tick' }, '60 min ago'),
    s('text', { x: LEFT + plotW / 2, y: H - 6, class: 'tick', 'text-anchor': 'middle' }, '30'),
    s('text', { x: W - RIGHT, y: H - 6, class: 'tick', 'text-anchor': 'end' }, 'now'),
  );
  mins.forEach((m, i) => {
    const x = LEFT + i * step + step * 0.1;
    const width = step * 0.8;
    const time = new Date(m.start).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const tip = `${time}: ${count(m.received)} received, ${count(m.changes)} changes`;
    const group = s('g', { class: 'minute' }, s('title', {}, tip));
    if (m.received > 0) {
      group.append(
        s('rect', { x, y: y(m.received), width, height: y(0) - y(m.received), class: 'bar-received' }),
      );
    }
    if (m.changes > 0) {
      const c = Math.min(m.changes, top);
      group.append(
        s('rect', {
          x: x + width * 0.25,
          y: y(c),
          width: width * 0.5,
          height: y(0) - y(c),
          class: 'bar-changes',
        }),
      );
    }
    // an invisible full-height target so that every minute has a tooltip
    group.append(s('rect', { x: LEFT + i * step, y: TOP, width: step, height: plotH, class: 'hit' }));
    svg.append(group);
  });
  const legend = h(
    'p',
    { class: 'legend small' },
    h('span', { class: 'swatch swatch-received' }),
    ' received ',
    h('span', { class: 'swatch swatch-changes' }),
    ' changes',
  );
  container.replaceChildren(svg, h('p', { class: 'chart-summary' }, summary), legend);
}
