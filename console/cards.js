// @ts-check
/**
 * One card per dataset the key may read: figures, push state, the silence warning, the status of
 * background work, and the admin's buttons. Cards are updated in place on every refresh, so a
 * pending confirmation or a shown key survives the refresh.
 */
import { recover, renewKeys, runSchedule, setPush } from './actions.js';
import { isObject } from './api.js';
import { h } from './dom.js';
import { count, message, when } from './format.js';
import { silenceWarning, statusEntries, statusSection } from './status.js';

/** @typedef {import('./api.js').DatasetDetail} DatasetDetail */
/** @typedef {import('./api.js').Who} Who */
/** @typedef {import('./actions.js').Keys} Keys */

/**
 * @typedef {object} CardHandlers
 * @property {(name: string) => void} open show the dataset's chart and tail
 * @property {() => void} changed an action changed something: refresh now
 */

/** How long a "click again to confirm" button waits for the second click. */
const CONFIRM_MS = 6_000;

/**
 * The keys the hub shows once (creation, renewal), with the warning that goes with them.
 * @param {Keys} keys @param {string} lead
 */
export function keysBlock(keys, lead) {
  const dismiss = h('button', { type: 'button', class: 'quiet small' }, 'Dismiss');
  const block = h(
    'div',
    { class: 'keys' },
    h('p', {}, h('strong', {}, lead), ' They are shown this once: copy them now.'),
    h(
      'dl',
      { class: 'fields' },
      h('dt', {}, 'Push key'),
      h('dd', {}, h('code', { 'data-key': 'push' }, keys.pushKey)),
      h('dt', {}, 'Read key'),
      h('dd', {}, h('code', { 'data-key': 'read' }, keys.readKey)),
    ),
    dismiss,
  );
  dismiss.addEventListener('click', () => block.remove());
  return block;
}

/** @param {string} text @param {'ok' | 'error'} kind */
export function resultLine(text, kind) {
  return h('p', { class: kind === 'error' ? 'error' : 'ok' }, text);
}

/**
 * A figure of an answer with its noun: "1 change", "5 changes", "? changes" when it is missing.
 * @param {Record<string, unknown>} o @param {string} field @param {string} noun
 */
function figure(o, field, noun) {
  const v = o[field];
  return typeof v === 'number' ? `${count(v)} ${noun}${v === 1 ? '' : 's'}` : `? ${noun}s`;
}

/** What POST /datasets/{id}/recover did, in words. @param {unknown} report */
function recoveryText(report) {
  if (!isObject(report)) return 'Recovery done.';
  if (report.rebuilt === false) return 'The receive log is empty: the dataset was left as it is.';
  const skipped =
    typeof report.skipped === 'number' && report.skipped > 0 ? ` (${count(report.skipped)} skipped)` : '';
  return (
    `Rebuilt from the receive log: ${figure(report, 'replayed', 'request')} replayed${skipped}, ` +
    `${figure(report, 'changes', 'change')}, ${figure(report, 'count', 'record')}.`
  );
}

/** What POST /datasets/{id}/schedule/run did, in words. @param {unknown} report */
function pullText(report) {
  if (!isObject(report)) return 'Pull done.';
  if (report.outcome === 'unchanged')
    return `Pulled: the snapshot has not changed (${figure(report, 'records', 'record')}).`;
  return `Pulled ${figure(report, 'records', 'record')}: ${figure(report, 'changes', 'change')}, ${count(Number(report.deleted ?? 0))} deleted.`;
}

class Card {
  /** @param {string} name @param {CardHandlers} handlers */
  constructor(name, handlers) {
    this.name = name;
    this.handlers = handlers;
    this.title = h('h3', { class: 'card-title' });
    this.badges = h('div', { class: 'badges' });
    this.countCell = h('dd', { 'data-field': 'count' });
    this.seqCell = h('dd', { 'data-field': 'lastSeq' });
    this.pushCell = h('dd', { 'data-field': 'lastPushAt' });
    this.silence = h('p', { class: 'warning', 'data-field': 'silence', role: 'status' });
    this.types = h('p', { class: 'muted small types' });
    this.statuses = h('div', { class: 'statuses' });
    this.result = h('div', { class: 'result', 'aria-live': 'polite' });
    this.openButton = h('button', { type: 'button', 'data-action': 'open' }, 'Show changes');
    this.pushButton = h('button', { type: 'button', 'data-action': 'toggle-push' });
    this.renewButton = h('button', { type: 'button', 'data-action': 'renew' }, 'Renew keys');
    this.recoverButton = h('button', { type: 'button', 'data-action': 'recover' }, 'Run recovery');
    this.scheduleButton = h('button', { type: 'button', 'data-action': 'run-schedule' }, 'Run pull now');
    this.adminButtons = h(
      'div',
      { class: 'admin-actions' },
      this.pushButton,
      this.renewButton,
      this.recoverButton,
      this.scheduleButton,
    );
    this.el = h(
      'article',
      { class: 'card', 'data-dataset': name },
      h('header', { class: 'card-head' }, this.title, h('code', { class: 'id' }, name), this.badges),
      h(
        'dl',
        { class: 'figures' },
        h('div', {}, h('dt', {}, 'Records'), this.countCell),
        h('div', {}, h('dt', {}, 'Last sequence'), this.seqCell),
        h('div', { class: 'wide' }, h('dt', {}, 'Last push'), this.pushCell),
      ),
      this.silence,
      this.types,
      this.statuses,
      h('div', { class: 'actions' }, this.openButton, this.adminButtons),
      this.result,
    );
    /** @type {DatasetDetail | undefined} */
    this.detail = undefined;

    this.openButton.addEventListener('click', () => handlers.open(name));
    this.pushButton.addEventListener('click', () => {
      const enable = this.detail?.push.enabled === false;
      void this.act(this.pushButton, async () => {
        await setPush(name, enable);
        return resultLine(
          enable ? 'Push enabled.' : 'Push disabled: pushes are refused, data stays readable.',
          'ok',
        );
      });
    });
    this.confirming(this.renewButton, 'Click again to renew keys', async () =>
      keysBlock(await renewKeys(name), 'New keys issued; the old ones no longer work.'),
    );
    this.confirming(this.recoverButton, 'Click again to rebuild from the log', async () =>
      resultLine(recoveryText(await recover(name)), 'ok'),
    );
    this.scheduleButton.addEventListener(
      'click',
      () =>
        void this.act(this.scheduleButton, async () => resultLine(pullText(await runSchedule(name)), 'ok')),
    );
  }

  /**
   * A button that asks for a second click before doing something that cannot be undone.
   * @param {HTMLButtonElement} button @param {string} confirmText @param {() => Promise<Node>} run
   */
  confirming(button, confirmText, run) {
    const idle = button.textContent ?? '';
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    const reset = () => {
      clearTimeout(timer);
      timer = undefined;
      button.textContent = idle;
      button.classList.remove('confirm');
    };
    button.addEventListener('click', () => {
      if (timer === undefined) {
        button.textContent = confirmText;
        button.classList.add('confirm');
        timer = setTimeout(reset, CONFIRM_MS);
        return;
      }
      reset();
      void this.act(button, run);
    });
  }

  /** Runs an admin action with the button disabled; its outcome goes to the card's result area. @param {HTMLButtonElement} button @param {() => Promise<Node>} run */
  async act(button, run) {
    button.disabled = true;
    this.result.replaceChildren(resultLine('Working…', 'ok'));
    try {
      this.result.replaceChildren(await run());
      this.handlers.changed();
    } catch (err) {
      this.result.replaceChildren(resultLine(message(err), 'error'));
    } finally {
      button.disabled = false;
    }
  }

  /** @param {DatasetDetail} d @param {Who} who @param {number} now @param {boolean} selected */
  fill(d, who, now, selected) {
    this.detail = d;
    this.title.textContent = d.title ?? d.name;
    this.badges.replaceChildren(
      h(
        'span',
        { class: d.push.enabled ? 'badge badge-on' : 'badge badge-off', 'data-field': 'push' },
        d.push.enabled ? 'push enabled' : 'push disabled',
      ),
      ...(d.public ? [h('span', { class: 'badge' }, 'public')] : []),
    );
    this.countCell.textContent = count(d.count);
    this.seqCell.textContent = count(d.lastSeq);
    this.pushCell.textContent = d.lastPushAt === null ? 'never' : when(d.lastPushAt, now);
    const silence = silenceWarning(d, now);
    this.silence.textContent = silence ?? '';
    this.silence.hidden = silence === undefined;
    this.types.textContent = d.containedTypes.length > 0 ? `Types: ${d.containedTypes.join(', ')}` : '';
    this.types.hidden = d.containedTypes.length === 0;
    this.statuses.replaceChildren(...statusEntries(d).map(([name, s]) => statusSection(name, s, now)));

    const admin = who.role === 'admin';
    this.adminButtons.hidden = !admin;
    this.pushButton.textContent = d.push.enabled ? 'Disable push' : 'Enable push';
    const record = /** @type {Record<string, unknown>} */ (d);
    this.scheduleButton.hidden = !(d.config?.schedule ?? record.schedule);
    this.recoverButton.hidden = d.config?.recovery === false;
    this.openButton.setAttribute('aria-pressed', String(selected));
    this.el.classList.toggle('selected', selected);
  }
}

export class DatasetCards {
  /** @param {HTMLElement} container @param {CardHandlers} handlers */
  constructor(container, handlers) {
    this.container = container;
    this.handlers = handlers;
    /** @type {Map<string, Card>} */
    this.cards = new Map();
  }

  /**
   * @param {DatasetDetail[]} details @param {Who} who @param {number} now
   * @param {string | undefined} selected
   */
  update(details, who, now, selected) {
    const names = new Set(details.map((d) => d.name));
    for (const [name, card] of this.cards) {
      if (names.has(name)) continue;
      card.el.remove();
      this.cards.delete(name);
    }
    const sorted = [...details].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    sorted.forEach((d, i) => {
      let card = this.cards.get(d.name);
      if (!card) {
        card = new Card(d.name, this.handlers);
        this.cards.set(d.name, card);
      }
      card.fill(d, who, now, d.name === selected);
      // moved only when out of place: moving an element takes the focus from its buttons
      if (this.container.children[i] !== card.el)
        this.container.insertBefore(card.el, this.container.children[i] ?? null);
    });
  }

  clear() {
    this.cards.clear();
    this.container.replaceChildren();
  }
}
