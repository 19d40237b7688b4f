// @ts-check
import { isObject } from './api.js';
import { h } from './dom.js';
import { duration, isIsoTime, label, minutes, when } from './format.js';

/** @typedef {import('./api.js').DatasetDetail} DatasetDetail */

/** Fields of GET /datasets/{id} the card shows itself; every other object is a status section. */
const OWN_FIELDS = new Set([
  'name',
  'url',
  'changes',
  'containedTypes',
  'title',
  'count',
  'lastSeq',
  'lastPushAt',
  'push',
  'public',
  'createdAt',
  'config',
]);

/** Names of the sections the hub's background work registers (any other is shown under its own name). */
const SECTION_TITLES = /** @type {Record<string, string>} */ ({
  alert: 'Inactivity alert',
  schedule: 'Scheduled pull',
  forwarding: 'Forwarding upstream',
  fullSync: 'Full sync running',
  recovery: 'Recovery',
});

/** Field values that mean trouble. */
const ERROR_FIELDS = new Set(['lastError', 'error']);

/**
 * The status objects of a dataset (alerts, scheduled pulls, forwarding and whatever else reports
 * through the hub's status registry), in the order the hub sent them.
 * @param {DatasetDetail} d
 * @returns {[string, Record<string, unknown>][]}
 */
export function statusEntries(d) {
  /** @type {[string, Record<string, unknown>][]} */
  const out = [];
  for (const [name, value] of Object.entries(d)) {
    if (!OWN_FIELDS.has(name) && isObject(value)) out.push([name, value]);
  }
  return out;
}

/**
 * A scheduled pull's rule in words: "every 60 min", "cron 0 7 * * MON (Europe/Paris)".
 * @param {unknown} rule
 */
function ruleText(rule) {
  if (!isObject(rule)) return JSON.stringify(rule);
  if (typeof rule.everyMinutes === 'number') return `every ${minutes(rule.everyMinutes)}`;
  if (typeof rule.cron === 'string')
    return `cron ${rule.cron}${rule.timeZone ? ` (${String(rule.timeZone)})` : ''}`;
  return JSON.stringify(rule);
}

/** @param {string} field @param {unknown} value @param {number} now */
function valueCell(field, value, now) {
  const dd = h('dd');
  if (Array.isArray(value) && value.length > 0 && value.every(isIsoTime)) {
    // the next due times of a schedule: one line each
    dd.append(h('ul', { class: 'times' }, ...value.map((t) => h('li', {}, when(t, now)))));
  } else if (field === 'rules' && Array.isArray(value)) {
    dd.append(h('ul', { class: 'times' }, ...value.map((r) => h('li', {}, ruleText(r)))));
  } else if (value === null || value === undefined) {
    dd.textContent = '—';
    dd.className = 'muted';
  } else if (isIsoTime(value)) {
    dd.textContent = when(value, now);
  } else if (typeof value === 'object') {
    dd.append(h('code', {}, JSON.stringify(value)));
  } else {
    dd.textContent = String(value);
  }
  if (ERROR_FIELDS.has(field) && value !== null && value !== undefined && value !== '')
    dd.classList.add('error');
  if (field === 'state') dd.classList.add('state', `state-${String(value).replace(/[^a-z-]/gi, '')}`);
  return dd;
}

/**
 * One status object as a titled list of its fields: times read as "14:03 (5 minutes ago)", errors
 * in red, nested values as compact JSON.
 * @param {string} name @param {Record<string, unknown>} status @param {number} now
 */
export function statusSection(name, status, now) {
  const list = h('dl', { class: 'fields' });
  for (const [field, value] of Object.entries(status)) {
    list.append(h('dt', {}, label(field)), valueCell(field, value, now));
  }
  return h(
    'section',
    { class: 'status', 'data-status': name },
    h('h4', {}, SECTION_TITLES[name] ?? label(name)),
    list,
  );
}

/**
 * The inactivity threshold of a dataset, from its alert status (any key) or its config (admin).
 * @param {DatasetDetail} d @returns {number | undefined}
 */
function alertMinutes(d) {
  const status = /** @type {Record<string, unknown>} */ (d).alert;
  if (isObject(status) && typeof status.inactiveMinutes === 'number') return status.inactiveMinutes;
  const alert = d.config?.alert;
  if (isObject(alert) && typeof alert.inactiveMinutes === 'number') return alert.inactiveMinutes;
  return undefined;
}

/**
 * "Silent for 7 minutes" when the dataset has an inactivity alert and nothing came for longer than
 * its threshold (counted from creation when nothing ever came), else undefined.
 * @param {DatasetDetail} d @param {number} now @returns {string | undefined}
 */
export function silenceWarning(d, now) {
  const threshold = alertMinutes(d);
  if (threshold === undefined) return undefined;
  const since = Date.parse(d.lastPushAt ?? d.createdAt);
  const quiet = now - since;
  if (quiet < threshold * 60_000) return undefined;
  const what =
    d.lastPushAt === null
      ? `No data since it was created ${duration(quiet)} ago`
      : `Silent for ${duration(quiet)}`;
  return `${what} (alert after ${minutes(threshold)})`;
}
