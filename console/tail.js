// @ts-check
/**
 * A live tail of one dataset's changes feed: long-polls GET /datasets/{id}/changes from the last
 * continuation token and lists what comes, newest first. Each item opens as the JSON the feed
 * serves or as expanded JSON-LD (the same change read again with format=jsonld).
 */
import { ApiError, api, datasetDetail, isObject, seg } from './api.js';
import { h } from './dom.js';
import { count, message, when } from './format.js';

/** A small dataset's feed is listed from its start; a larger one's from now on. */
const INITIAL = 100;
/** Items kept on the page; older ones drop off the end. */
const KEEP = 200;
const LONGPOLL_MS = 25_000;
const PAGE = 100;

/**
 * @typedef {object} Page
 * @property {Record<string, unknown>[]} items
 * @property {string} token continuation after the last item
 * @property {boolean} fullSync the token was of an older epoch: the feed started over
 */

/**
 * One page of the feed (JSON framing: context element, items, continuation element).
 * @param {string} dataset @param {Record<string, string>} params @param {AbortSignal} [signal]
 * @returns {Promise<Page>}
 */
async function feedPage(dataset, params, signal) {
  const r = await api(`/datasets/${seg(dataset)}/changes?${new URLSearchParams(params)}`, { signal });
  const arr = Array.isArray(r.json) ? r.json : [];
  const last = arr[arr.length - 1];
  if (!isObject(last) || last.id !== '@continuation' || typeof last.token !== 'string')
    throw new Error('the feed ended without a continuation token');
  return {
    items: arr.slice(1, -1).filter(isObject),
    token: last.token,
    fullSync: r.headers.get('icar-full-sync') === 'true',
  };
}

/** @param {number} ms @param {AbortSignal} signal */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve(undefined);
      },
      { once: true },
    );
  });
}

/**
 * A title, a subtitle, a time and the deleted flag of an item of any kind: ICAR resources
 * (resourceType, meta), UDA entities (id, recorded, deleted) and ODS-shaped records (recordid,
 * record_timestamp, fields).
 * @param {Record<string, unknown>} item
 * @returns {{ title: string, sub: string, time: string | undefined, timeLabel: string, deleted: boolean }}
 */
function describe(item) {
  const meta = isObject(item.meta) ? item.meta : {};
  if (typeof item.resourceType === 'string') {
    return {
      title: item.resourceType,
      sub: `${String(meta.source ?? '?')} / ${String(meta.sourceId ?? '?')}`,
      // the source's own time: ICAR items carry no time of arrival
      time: typeof meta.modified === 'string' ? meta.modified : undefined,
      timeLabel: 'modified',
      deleted: meta.isDeleted === true,
    };
  }
  if (typeof item.recordid === 'string') {
    const fields = isObject(item.fields) ? item.fields : {};
    const sub = Object.entries(fields)
      .slice(0, 3)
      .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(', ');
    return {
      title: `record ${item.recordid.slice(0, 12)}`,
      sub: sub.length > 120 ? `${sub.slice(0, 117)}…` : sub,
      time: typeof item.record_timestamp === 'string' ? item.record_timestamp : undefined,
      timeLabel: 'recorded',
      deleted: item.deleted === true,
    };
  }
  return {
    title: typeof item.id === 'string' ? item.id : 'item',
    sub: '',
    time: typeof item.recorded === 'number' ? new Date(item.recorded).toISOString() : undefined,
    timeLabel: 'recorded',
    deleted: item.deleted === true,
  };
}

export class Tail {
  /**
   * @param {HTMLOListElement} list
   * @param {HTMLElement} state
   * @param {() => void} onChanges called when new changes arrived
   */
  constructor(list, state, onChanges) {
    this.list = list;
    this.state = state;
    this.onChanges = onChanges;
    /** @type {AbortController | undefined} */
    this.running = undefined;
  }

  /** Follows `dataset` from now on (the previous tail stops). @param {string} dataset */
  start(dataset) {
    this.stop();
    const ac = new AbortController();
    this.running = ac;
    this.list.replaceChildren();
    this.setState('Connecting…');
    void this.run(dataset, ac.signal);
  }

  stop() {
    this.running?.abort();
    this.running = undefined;
  }

  /** @param {string} text @param {boolean} [problem] */
  setState(text, problem = false) {
    this.state.textContent = text;
    this.state.classList.toggle('error', problem);
  }

  /** @param {string} dataset @param {AbortSignal} signal */
  async run(dataset, signal) {
    /** @type {string | undefined} */
    let since;
    let note = '';
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (since === undefined) {
          since = await this.begin(dataset, signal, note);
          continue;
        }
        const page = await feedPage(
          dataset,
          { since, feed: 'longpoll', timeout: String(LONGPOLL_MS), limit: String(PAGE) },
          signal,
        );
        if (signal.aborted) return;
        failures = 0;
        if (page.fullSync) {
          this.list.replaceChildren();
          since = undefined;
          note = 'The feed started over (the dataset was re-created or recovered). ';
          continue;
        }
        this.add(dataset, page, since);
        since = page.token;
        this.setState('Live: waiting for changes…');
        if (page.items.length > 0) this.onChanges();
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError && err.status === 404) {
          this.setState('This dataset no longer exists.', true);
          return;
        }
        // a token the hub no longer knows (the dataset was replaced): start again from its end
        if (err instanceof ApiError && err.code === 'INVALID_TOKEN') since = undefined;
        failures++;
        const wait = Math.min(30_000, 1000 * 2 ** Math.min(failures, 5));
        this.setState(`${message(err)}: retrying in ${Math.round(wait / 1000)} s`, true);
        await sleep(wait, signal);
      }
    }
  }

  /**
   * Where the tail starts: a small dataset is listed from its start, a larger one from now on (the
   * continuation of an empty current-state page is the changes token of now).
   * @param {string} dataset @param {AbortSignal} signal @param {string} note
   * @returns {Promise<string>} the token to long-poll from
   */
  async begin(dataset, signal, note) {
    const d = await datasetDetail(dataset);
    if (d.lastSeq <= INITIAL) {
      const page = await feedPage(dataset, { limit: String(INITIAL) }, signal);
      this.add(dataset, page, undefined);
      this.setState(`${note}Live: waiting for changes…`);
      return page.token;
    }
    const r = await api(`/datasets/${seg(dataset)}/resources?limit=0`, { signal });
    const arr = Array.isArray(r.json) ? r.json : [];
    const last = arr[arr.length - 1];
    if (!isObject(last) || typeof last.since !== 'string')
      throw new Error('the hub gave no position to start from');
    this.setState(`${note}Live from now on (${count(d.lastSeq)} earlier changes are not listed)`);
    return last.since;
  }

  /**
   * Lists a page's items newest first, above what is there.
   * @param {string} dataset @param {Page} page @param {string | undefined} since the page's start token
   */
  add(dataset, page, since) {
    page.items.forEach((item, i) => {
      this.list.prepend(this.entry(dataset, item, since, i + 1));
    });
    while (this.list.children.length > KEEP) this.list.lastElementChild?.remove();
  }

  /**
   * @param {string} dataset @param {Record<string, unknown>} item
   * @param {string | undefined} since @param {number} position 1-based, in the page read from `since`
   */
  entry(dataset, item, since, position) {
    const d = describe(item);
    const doc = h('pre', { class: 'doc' });
    doc.hidden = true;
    const jsonButton = h('button', { type: 'button', class: 'small', 'aria-pressed': 'false' }, 'JSON');
    const ldButton = h('button', { type: 'button', class: 'small', 'aria-pressed': 'false' }, 'JSON-LD');
    /** @type {string | undefined} */
    let expanded;
    /** @param {HTMLButtonElement} pressed @param {() => Promise<string> | string} text */
    const toggle = async (pressed, text) => {
      const open = pressed.getAttribute('aria-pressed') !== 'true';
      for (const b of [jsonButton, ldButton]) b.setAttribute('aria-pressed', String(open && b === pressed));
      doc.hidden = !open;
      doc.classList.remove('error');
      if (!open) return;
      try {
        doc.textContent = 'Loading…';
        doc.textContent = await text();
      } catch (err) {
        doc.textContent = message(err);
        doc.classList.add('error');
      }
    };
    jsonButton.addEventListener('click', () => void toggle(jsonButton, () => JSON.stringify(item, null, 2)));
    ldButton.addEventListener(
      'click',
      () =>
        void toggle(ldButton, async () => {
          expanded ??= await this.expanded(dataset, since, position);
          return expanded;
        }),
    );
    return h(
      'li',
      { class: d.deleted ? 'change deleted' : 'change' },
      h(
        'div',
        { class: 'change-head' },
        h('span', { class: 'change-title' }, d.title),
        d.deleted && h('span', { class: 'badge badge-off' }, 'deleted'),
        d.sub && h('span', { class: 'change-sub muted small' }, d.sub),
        d.time &&
          h(
            'span',
            { class: 'muted small' },
            `${d.timeLabel} `,
            h('time', { datetime: d.time }, when(d.time, Date.now())),
          ),
      ),
      h('div', { class: 'change-views' }, jsonButton, ldButton),
      doc,
    );
  }

  /**
   * The same change as expanded JSON-LD: the page is read again from its start token with
   * format=jsonld, up to this item.
   * @param {string} dataset @param {string | undefined} since @param {number} position
   */
  async expanded(dataset, since, position) {
    /** @type {Record<string, string>} */
    const params = { limit: String(position), format: 'jsonld' };
    if (since !== undefined) params.since = since;
    const r = await api(`/datasets/${seg(dataset)}/changes?${new URLSearchParams(params)}`);
    if (r.headers.get('icar-full-sync') === 'true')
      throw new Error('No longer available: the feed started over since this change.');
    const arr = Array.isArray(r.json) ? r.json : [];
    const item = arr[position];
    if (item === undefined || (isObject(item) && item.id === '@continuation'))
      throw new Error('This change is no longer in the feed.');
    return JSON.stringify(item, null, 2);
  }
}
