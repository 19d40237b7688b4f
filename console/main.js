// @ts-check
/**
 * The console page: sign in with a key, then the datasets it may read are refreshed every few
 * seconds; one dataset at a time shows its ingest chart and a live tail of its changes. Everything
 * comes from this hub's own API; nothing is loaded from anywhere else.
 */
import { createDataset } from './actions.js';
import {
  ApiError,
  api,
  datasetDetail,
  forgetKey,
  isObject,
  readableDatasets,
  storeKey,
  storedKey,
} from './api.js';
import { DatasetCards, keysBlock, resultLine } from './cards.js';
import { drawChart, loadStats } from './chart.js';
import { byId, show } from './dom.js';
import { message } from './format.js';
import { Tail } from './tail.js';

/** @typedef {import('./api.js').Who} Who */
/** @typedef {import('./api.js').DatasetDetail} DatasetDetail */

const REFRESH_MS = 5_000;
const CHART_MS = 15_000;
/** Chart redraws after new changes come at most this often. */
const CHART_MIN_GAP_MS = 2_000;

const els = {
  signIn: byId('sign-in', HTMLFormElement),
  key: byId('key', HTMLInputElement),
  signedIn: byId('signed-in', HTMLDivElement),
  who: byId('who', HTMLSpanElement),
  signOut: byId('sign-out', HTMLButtonElement),
  notice: byId('notice', HTMLParagraphElement),
  main: byId('main', HTMLElement),
  create: byId('create', HTMLElement),
  createForm: byId('create-form', HTMLFormElement),
  createResult: byId('create-result', HTMLDivElement),
  datasets: byId('datasets', HTMLDivElement),
  empty: byId('datasets-empty', HTMLParagraphElement),
  refreshed: byId('refreshed', HTMLSpanElement),
  detail: byId('detail', HTMLElement),
  detailTitle: byId('detail-title', HTMLHeadingElement),
  detailClose: byId('detail-close', HTMLButtonElement),
  chart: byId('chart', HTMLDivElement),
  tail: byId('tail', HTMLOListElement),
  tailState: byId('tail-state', HTMLSpanElement),
};

/** @type {Who | undefined} */
let who;
/** @type {string | undefined} */
let selected;
/** @type {ReturnType<typeof setInterval> | undefined} */
let refreshTimer;
/** @type {ReturnType<typeof setInterval> | undefined} */
let chartTimer;
let refreshing = false;
let refreshAgain = false;
let lastChart = 0;

const cards = new DatasetCards(els.datasets, {
  open: (name) => select(name),
  changed: () => void refresh(),
});
/** @type {ReturnType<typeof setTimeout> | undefined} */
let chartSoon;
const tail = new Tail(els.tail, els.tailState, () => {
  void refresh();
  // redraw now, or once the gap has passed when the last redraw was a moment ago
  if (chartSoon !== undefined) return;
  chartSoon = setTimeout(
    () => {
      chartSoon = undefined;
      void chart();
    },
    Math.max(0, lastChart + CHART_MIN_GAP_MS - Date.now()),
  );
});

/** @param {string | undefined} text */
function notice(text) {
  els.notice.textContent = text ?? '';
  show(els.notice, text !== undefined);
}

/** @param {Who} w */
function describeWho(w) {
  if (w.role === 'admin') return 'Signed in with the admin token';
  return `Signed in with the ${w.role} key of ${w.dataset ?? '?'}`;
}

/**
 * GET /datasets/{id} of each dataset, a few at a time; one deleted meanwhile is left out.
 * @param {string[]} names @returns {Promise<DatasetDetail[]>}
 */
async function details(names) {
  /** @type {DatasetDetail[]} */
  const out = [];
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = /** @type {string} */ (names[next++]);
      try {
        out.push(await datasetDetail(name));
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return out;
}

/** Reads every dataset the key may read and updates the cards. Overlapping calls run once more after. */
async function refresh() {
  if (!who) return;
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    const list = await details(await readableDatasets());
    if (!who) return;
    const now = Date.now();
    cards.update(list, who, now, selected);
    els.empty.textContent =
      who.role === 'admin' ? 'No dataset yet: create one above.' : 'This key may read no dataset.';
    show(els.empty, list.length === 0);
    els.refreshed.textContent = `updated ${new Date(now).toLocaleTimeString()}`;
    notice(undefined);
    if (selected !== undefined) {
      const current = list.find((d) => d.name === selected);
      if (current) els.detailTitle.textContent = current.title ?? current.name;
      else close();
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      signOut('This hub no longer accepts the key (renewed or removed?). Sign in again.');
      return;
    }
    notice(`Could not reach the hub (${message(err)}); trying again…`);
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      void refresh();
    }
  }
}

async function chart() {
  const name = selected;
  if (name === undefined) return;
  lastChart = Date.now();
  try {
    const stats = await loadStats(name);
    if (name === selected) drawChart(els.chart, stats);
  } catch (err) {
    if (name === selected) els.chart.replaceChildren(resultLine(`No figures: ${message(err)}`, 'error'));
  }
}

/** Shows a dataset's chart and live changes. @param {string} name */
function select(name) {
  selected = name;
  const card = cards.cards.get(name);
  els.detailTitle.textContent = card?.detail?.title ?? name;
  show(els.detail, true);
  els.main.classList.add('with-detail');
  els.chart.replaceChildren();
  tail.start(name);
  void chart();
  clearInterval(chartTimer);
  chartTimer = setInterval(() => {
    if (!document.hidden) void chart();
  }, CHART_MS);
  void refresh();
  // on a phone the detail is below the list: bring it into view
  if (window.matchMedia('(max-width: 999px)').matches) els.detail.scrollIntoView({ block: 'start' });
}

function close() {
  selected = undefined;
  tail.stop();
  clearInterval(chartTimer);
  show(els.detail, false);
  els.main.classList.remove('with-detail');
  void refresh();
}

/** @param {Who} w */
function signedIn(w) {
  who = w;
  els.who.textContent = describeWho(w);
  show(els.signIn, false);
  show(els.signedIn, true);
  show(els.create, w.role === 'admin');
  notice(undefined);
  clearInterval(refreshTimer);
  refreshTimer = setInterval(() => {
    if (!document.hidden) void refresh();
  }, REFRESH_MS);
  void refresh();
}

/** @param {string} [why] */
function signOut(why) {
  forgetKey();
  who = undefined;
  clearInterval(refreshTimer);
  selected = undefined;
  tail.stop();
  clearInterval(chartTimer);
  show(els.detail, false);
  els.main.classList.remove('with-detail');
  cards.clear();
  els.createResult.replaceChildren();
  els.refreshed.textContent = '';
  els.empty.textContent = 'Sign in to see the datasets your key may read.';
  show(els.empty, true);
  show(els.create, false);
  show(els.signedIn, false);
  show(els.signIn, true);
  notice(why);
}

/** Checks the key with the hub (GET /whoami) before keeping it. @param {string} key */
async function signIn(key) {
  try {
    const w = /** @type {Who} */ ((await api('/whoami', { key })).json);
    if (!isObject(w) || w.role === 'anonymous') throw new Error('the hub did not recognise the key');
    storeKey(key);
    els.key.value = '';
    signedIn(w);
  } catch (err) {
    forgetKey();
    notice(
      err instanceof ApiError && err.status === 401
        ? 'This hub does not accept that key.'
        : `Could not sign in: ${message(err)}`,
    );
  }
}

els.signIn.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const key = els.key.value.trim();
  if (key !== '') void signIn(key);
});

els.signOut.addEventListener('click', () => signOut());
els.detailClose.addEventListener('click', () => close());

els.createForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = new FormData(els.createForm);
  const id = String(form.get('id') ?? '').trim();
  const title = String(form.get('title') ?? '').trim();
  const settingsText = String(form.get('settings') ?? '').trim();
  const submit = els.createForm.querySelector('button[type="submit"]');
  void (async () => {
    try {
      /** @type {Record<string, unknown>} */
      let config = {};
      if (settingsText !== '') {
        /** @type {unknown} */
        let parsed;
        try {
          parsed = JSON.parse(settingsText);
        } catch {
          throw new Error('More settings must be a JSON object, such as {"uniqueKeys": ["isbn"]}.');
        }
        if (!isObject(parsed)) throw new Error('More settings must be a JSON object.');
        config = parsed;
      }
      if (title !== '') config = { ...config, title };
      if (form.get('public') === 'on') config = { ...config, public: true };
      if (submit instanceof HTMLButtonElement) submit.disabled = true;
      const keys = await createDataset(id, config);
      els.createForm.reset();
      els.createResult.replaceChildren(keysBlock(keys, `Dataset '${id}' created.`));
      await refresh();
      select(id);
    } catch (err) {
      els.createResult.replaceChildren(resultLine(message(err), 'error'));
    } finally {
      if (submit instanceof HTMLButtonElement) submit.disabled = false;
    }
  })();
});

const key = storedKey();
if (key !== undefined) void signIn(key);
