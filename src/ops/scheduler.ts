import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HTTPError, RequestError, type Got } from 'got';
import type { Logger } from 'pino';
import { hubError, isHubError } from '../errors.js';
import { canonicalJson } from '../domain/canonical.js';
import { configOf, type DatasetConfig } from '../domain/config.js';
import type { Hub } from '../domain/hub.js';
import type { DatasetRecord, JsonObject } from '../store/types.js';
import { backoffDelay, clampTimer } from './backoff.js';
import { describeHttpError } from './http.js';
import { SCHEDULE_PROTOCOL } from './schedule-translate.js';
import { fetchSnapshot, SnapshotError } from './snapshot.js';
import { iso, opsStatus, updateOpsStatus } from './status.js';

export interface SchedulerOptions {
  readonly client: Got;
  /** a resource larger than this is refused (nothing applied) */
  readonly maxBytes: number;
  /** download attempts per run for transport failures (timeouts, refused connections, 5xx) */
  readonly attempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

/** What one scheduled pull did. */
export interface PullResult {
  /** `unchanged`: the download was identical to the last one applied; nothing was written */
  readonly outcome: 'applied' | 'unchanged';
  readonly records: number;
  readonly changes: number;
  /** records deleted because the snapshot no longer has them */
  readonly deleted: number;
  readonly bytes: number;
  readonly format: string;
}

const MINUTE_MS = 60_000;

/**
 * Scheduled pulls (ODS scheduling, docs/operations.md#schedules): per dataset, a timer that runs the pull
 * once when armed (start-up or config change) and then every `everyMinutes`, never two runs of one dataset at
 * once. A run downloads the remote resource, parses it and applies it as one full-sync request through the
 * ingestor; failures are logged and kept in the dataset's status, never thrown at the timer.
 */
export class Scheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Map<string, Promise<PullResult>>();
  private readonly abort = new AbortController();

  constructor(
    private readonly hub: Hub,
    private readonly logger: Logger,
    private readonly options: SchedulerOptions,
  ) {}

  /** Runs the pull now (in the background) and then every `everyMinutes`. */
  arm(name: string): void {
    this.disarm(name);
    this.later(name, 0);
  }

  disarm(name: string): void {
    clearTimeout(this.timers.get(name));
    this.timers.delete(name);
  }

  /** POST /datasets/{id}/schedule/run: a run that starts after this call, awaited. */
  async runNow(name: string): Promise<PullResult> {
    const running = this.inFlight.get(name);
    // a run already under way may have downloaded an older version: let it end, then run again
    if (running) await running.catch(() => undefined);
    return this.run(name);
  }

  /** Cancels timers and downloads; resolves once no run is left. */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.inFlight.values()].map((p) => p.catch(() => undefined)));
  }

  private later(name: string, delayMs: number): void {
    if (this.abort.signal.aborted) return;
    const timer = setTimeout(() => {
      this.timers.delete(name);
      void this.tick(name);
    }, clampTimer(delayMs));
    this.timers.set(name, timer);
  }

  private async tick(name: string): Promise<void> {
    const started = Date.now();
    await this.run(name).catch(() => undefined);
    const dataset = await this.hub.datasets.get(name);
    const every = dataset ? configOf(dataset).schedule?.everyMinutes : undefined;
    // disarmed meanwhile (config changed or dataset deleted): the reconciler re-arms if needed
    if (every === undefined || this.timers.has(name) || this.abort.signal.aborted) return;
    this.later(name, started + every * MINUTE_MS - Date.now());
  }

  private run(name: string): Promise<PullResult> {
    const running = this.inFlight.get(name);
    if (running) return running;
    const p = this.pull(name).finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, p);
    return p;
  }

  private async pull(name: string): Promise<PullResult> {
    const dataset = await this.hub.datasets.require(name);
    const schedule = configOf(dataset).schedule;
    if (!schedule) throw hubError('NO_SCHEDULE', `dataset '${name}' has no schedule`);
    const startedAt = Date.now();
    try {
      const result = await this.fetchAndApply(name, schedule);
      this.logger.info({ dataset: name, ...result }, 'scheduled pull done');
      return result;
    } catch (err) {
      if (this.abort.signal.aborted) throw hubError('STOPPING', 'the hub is shutting down');
      const message = isHubError(err) || err instanceof SnapshotError ? err.message : describeHttpError(err);
      this.logger.warn({ dataset: name, error: message }, 'scheduled pull failed');
      await updateOpsStatus(this.hub.store, name, 'schedule', (s) => ({
        ...s,
        lastRunAt: iso(startedAt),
        lastError: message,
        lastErrorAt: iso(Date.now()),
      }));
      throw hubError('SCHEDULE_FAILED', `the scheduled pull failed: ${message}`);
    }
  }

  private async fetchAndApply(
    name: string,
    schedule: NonNullable<DatasetConfig['schedule']>,
  ): Promise<PullResult> {
    const startedAt = Date.now();
    const snap = await this.download(schedule.url, schedule.format);
    const dataset = await this.hub.datasets.require(name);
    const fingerprint = snapshotFingerprint(snap.sha256, configOf(dataset));
    const prev = opsStatus(dataset, 'schedule');
    let applied: { changes: number; deleted: number; epoch: string; lastSeq: number } | undefined;
    // the same bytes under the same keys and schema onto an untouched dataset change nothing:
    // skip the write (and its copy in the receive journal)
    const same =
      prev.fingerprint === fingerprint &&
      prev.appliedEpoch === dataset.epoch &&
      prev.appliedSeq === dataset.lastSeq;
    if (!same) {
      const r = await this.hub.ingestor.ingest(
        dataset,
        {
          protocol: SCHEDULE_PROTOCOL,
          body: snap.records,
          params: { url: schedule.url, format: snap.format },
        },
        'schedule',
      );
      applied = { changes: r.changes, deleted: r.swept, epoch: r.epoch, lastSeq: r.lastSeq };
    }
    const result: PullResult = {
      outcome: applied ? 'applied' : 'unchanged',
      records: snap.records.length,
      changes: applied?.changes ?? 0,
      deleted: applied?.deleted ?? 0,
      bytes: snap.bytes,
      format: snap.format,
    };
    await updateOpsStatus(this.hub.store, name, 'schedule', (s) => ({
      ...s,
      lastRunAt: iso(startedAt),
      lastSuccessAt: iso(Date.now()),
      lastError: null,
      lastResult: { ...result },
      fingerprint,
      appliedEpoch: applied?.epoch ?? dataset.epoch,
      appliedSeq: applied?.lastSeq ?? dataset.lastSeq,
    }));
    return result;
  }

  /** Bounded retries for transport failures; a resource that cannot be parsed is not retried. */
  private async download(url: string, format: 'json' | 'ndjson' | 'csv' | undefined) {
    const { attempts, retryBaseMs, retryMaxMs, client, maxBytes } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fetchSnapshot(client, url, format, { maxBytes, signal: this.abort.signal });
      } catch (err) {
        if (attempt >= attempts || !transient(err) || this.abort.signal.aborted) throw err;
        await sleep(backoffDelay(attempt, retryBaseMs, retryMaxMs), undefined, { signal: this.abort.signal });
      }
    }
  }
}

function transient(err: unknown): boolean {
  if (err instanceof HTTPError) {
    const s = err.response.statusCode;
    return s === 408 || s === 429 || s >= 500;
  }
  return err instanceof RequestError;
}

/** Identifies "these bytes applied under this config": keys and validation decide what they write. */
function snapshotFingerprint(sha256: string, config: DatasetConfig): string {
  const rules = canonicalJson({
    uniqueKeys: config.uniqueKeys ?? null,
    schema: config.schema ?? null,
    validationMode: config.validationMode ?? null,
  });
  return createHash('sha256').update(`${sha256}\n${rules}`).digest('hex');
}

/** The `schedule` block of GET /datasets/{id}. */
export function scheduleStatus(d: DatasetRecord): JsonObject | undefined {
  const schedule = configOf(d).schedule;
  if (!schedule) return undefined;
  const s = opsStatus(d, 'schedule');
  return {
    url: schedule.url,
    format: schedule.format ?? null,
    everyMinutes: schedule.everyMinutes,
    lastRunAt: s.lastRunAt ?? null,
    lastSuccessAt: s.lastSuccessAt ?? null,
    lastError: s.lastError ?? null,
    lastErrorAt: s.lastErrorAt ?? null,
    lastResult: s.lastResult ?? null,
  };
}
