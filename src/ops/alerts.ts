import type { Got } from 'got';
import type { Logger } from 'pino';
import { configOf } from '../domain/config.js';
import type { Hub } from '../domain/hub.js';
import type { IngestedEvent } from '../domain/ingest.js';
import type { DatasetRecord, JsonObject } from '../store/types.js';
import { clampTimer } from './backoff.js';
import { describeHttpError } from './outgoing.js';
import { iso, opsStatus, updateOpsStatus } from './status.js';

const MINUTE_MS = 60_000;

interface Watch {
  readonly inactiveMs: number;
  readonly inactiveMinutes: number;
  readonly webhook: string;
  /** last time records arrived (ms), as far as this process knows */
  lastActivity: number;
  timer?: NodeJS.Timeout;
  /** webhook deliveries of this dataset, one after the other so "resumed" never overtakes "inactive" */
  sending: Promise<void>;
}

/**
 * Inactivity alerts (ODS alerting, docs/operations.md#alerts): when a dataset receives no record for
 * `alert.inactiveMinutes`, one `inactive` notice goes to its webhook; when records come again, one
 * `resumed` notice. The state (inactive or not) is kept in the dataset's attrs, so a restart in the
 * middle of a silent spell neither repeats the alert nor forgets to announce the resumption.
 * Deliveries are retried with backoff by the HTTP client; one that still fails is logged and shown
 * in the status, and the spell is not alerted again.
 */
export class InactivityAlerts {
  private readonly watches = new Map<string, Watch>();
  private stopped = false;
  /** cancels deliveries (and their retries) when the hub stops */
  private readonly abort = new AbortController();

  constructor(
    private readonly hub: Hub,
    private readonly logger: Logger,
    private readonly client: Got,
  ) {}

  /** Starts (or restarts, after a config change) watching a dataset that has an `alert` config. */
  watch(d: DatasetRecord): void {
    const alert = configOf(d).alert;
    if (!alert) return this.unwatch(d.name);
    const previous = this.watches.get(d.name);
    if (previous) clearTimeout(previous.timer);
    const w: Watch = {
      inactiveMs: alert.inactiveMinutes * MINUTE_MS,
      inactiveMinutes: alert.inactiveMinutes,
      webhook: alert.webhook,
      lastActivity: Math.max(d.lastPushAt ?? d.createdAt, previous?.lastActivity ?? 0),
      sending: previous?.sending ?? Promise.resolve(),
    };
    this.watches.set(d.name, w);
    const state = opsStatus(d, 'alert');
    // records arrived while this process was not watching (a restart during a silent spell)
    if (
      state.state === 'inactive' &&
      d.lastPushAt !== null &&
      d.lastPushAt > Number(state.lastPushAtMs ?? 0)
    ) {
      this.resume(d.name, w, d.lastPushAt);
    }
    this.arm(d.name, w);
  }

  unwatch(name: string): void {
    const w = this.watches.get(name);
    if (!w) return;
    clearTimeout(w.timer);
    this.watches.delete(name);
  }

  /** Every accepted request with records (the ingestor's `ingested` event). */
  onIngested(e: IngestedEvent): void {
    const w = this.watches.get(e.dataset);
    if (!w || e.received <= 0) return;
    w.lastActivity = Math.max(w.lastActivity, e.at);
    void this.hub.datasets.get(e.dataset).then(
      (d) => {
        if (d && opsStatus(d, 'alert').state === 'inactive') this.resume(e.dataset, w, e.at);
      },
      (err: unknown) => this.logger.warn({ err, dataset: e.dataset }, 'alert bookkeeping failed'),
    );
    this.arm(e.dataset, w);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    const pending = [...this.watches.values()];
    for (const w of pending) clearTimeout(w.timer);
    this.watches.clear();
    await Promise.all(pending.map((w) => w.sending));
  }

  private arm(name: string, w: Watch): void {
    clearTimeout(w.timer);
    if (this.stopped) return;
    const due = w.lastActivity + w.inactiveMs - Date.now();
    w.timer = setTimeout(() => {
      this.check(name, w).catch((err: unknown) =>
        this.logger.warn({ err, dataset: name }, 'inactivity check failed'),
      );
    }, clampTimer(due));
  }

  /** The timer fired: is the dataset really silent (another process may have seen pushes)? */
  private async check(name: string, w: Watch): Promise<void> {
    if (this.watches.get(name) !== w) return;
    const d = await this.hub.datasets.get(name);
    if (!d || this.watches.get(name) !== w) return;
    w.lastActivity = Math.max(w.lastActivity, d.lastPushAt ?? d.createdAt);
    if (Date.now() - w.lastActivity < w.inactiveMs) return this.arm(name, w);
    if (opsStatus(d, 'alert').state === 'inactive') return; // this spell was alerted already
    const lastPushAt = d.lastPushAt;
    // the state flips inside the dataset's writer: when several hub processes share the store, only
    // the one that flips it sends the alert
    let flipped = false;
    await updateOpsStatus(this.hub.store, name, 'alert', (s) => {
      flipped = s.state !== 'inactive';
      return flipped
        ? { ...s, state: 'inactive', inactiveSince: iso(w.lastActivity), lastPushAtMs: lastPushAt }
        : s;
    });
    if (!flipped) return;
    this.deliver(name, w, 'alertedAt', {
      type: 'inactive',
      dataset: name,
      lastPushAt: iso(lastPushAt),
      inactiveMinutes: w.inactiveMinutes,
    });
  }

  private resume(name: string, w: Watch, at: number): void {
    // the state flips first, inside the dataset's writer: of two concurrent pushes only one resumes
    let flipped = false;
    void updateOpsStatus(this.hub.store, name, 'alert', (s) => {
      flipped = s.state === 'inactive';
      return flipped ? { ...s, state: 'active', resumedAt: iso(at) } : s;
    }).then(
      () => {
        if (!flipped) return;
        this.deliver(name, w, 'resumedNoticeAt', {
          type: 'resumed',
          dataset: name,
          lastPushAt: iso(at),
          inactiveMinutes: w.inactiveMinutes,
        });
      },
      (err: unknown) => this.logger.warn({ err, dataset: name }, 'alert bookkeeping failed'),
    );
  }

  private deliver(name: string, w: Watch, field: string, body: JsonObject): void {
    w.sending = w.sending.then(async () => {
      try {
        await this.client.post(w.webhook, { json: body, signal: this.abort.signal });
        this.logger.info({ dataset: name, type: body.type }, 'alert delivered');
        await updateOpsStatus(this.hub.store, name, 'alert', (s) => ({
          ...s,
          [field]: iso(Date.now()),
          lastError: null,
        }));
      } catch (err) {
        const message = describeHttpError(err);
        this.logger.warn({ dataset: name, type: body.type, error: message }, 'alert delivery failed');
        if (!this.stopped) {
          await updateOpsStatus(this.hub.store, name, 'alert', (s) => ({ ...s, lastError: message })).catch(
            () => undefined,
          );
        }
      }
    });
  }
}

/** The `alert` block of GET /datasets/{id}. */
export function alertStatus(d: DatasetRecord): JsonObject | undefined {
  const alert = configOf(d).alert;
  if (!alert) return undefined;
  const s = opsStatus(d, 'alert');
  return {
    inactiveMinutes: alert.inactiveMinutes,
    state: s.state === 'inactive' ? 'inactive' : 'active',
    inactiveSince: s.state === 'inactive' ? (s.inactiveSince ?? null) : null,
    alertedAt: s.alertedAt ?? null,
    resumedAt: s.resumedAt ?? null,
    lastError: s.lastError ?? null,
  };
}
