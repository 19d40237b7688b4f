import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HTTPError, RequestError, type Got } from 'got';
import type { Logger } from 'pino';
import { hubError, isHubError } from '../errors.js';
import { canonicalJson } from '../domain/canonical.js';
import { configOf, maskUrlPassword, type DatasetConfig, type ScheduleConfig } from '../domain/config.js';
import { DEFAULT_TIME_ZONE, nextRunTime, nextRunTimes, resolvedRules } from '../domain/schedule.js';
import type { Hub } from '../domain/hub.js';
import type { DatasetRecord, JsonObject } from '../store/types.js';
import { backoffDelay, clampTimer } from './backoff.js';
import { systemClock, type Clock } from './clock.js';
import type { ConnectionOptions } from 'node:tls';
import { describeFtpError, fetchFtpSnapshot, isFtpUrl, transientFtp } from './ftp.js';
import { describeHttpError } from './outgoing.js';
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
  /** an FTP control connection or transfer idle this long fails the attempt */
  readonly ftpTimeoutMs: number;
  /** TLS settings of ftps:// connections (a CA of one's own) */
  readonly tls?: ConnectionOptions;
  /** due times are read from this clock (tests drive a fake one) */
  readonly clock?: Clock;
  /** who claims due times: the process's lease holder id */
  readonly holder: string;
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

/**
 * How long a claimed run counts as running without a heartbeat: a process that dies mid-run stops
 * blocking the next due time after this.
 */
const RUN_LEASE_MS = 30_000;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Scheduled pulls (docs/schedules.md): per dataset, a timer for the next due time of its
 * rules (domain/schedule.ts), never two runs of one dataset at once. A run downloads the remote
 * resource (HTTP(S) or FTP(S)), parses it and applies it as one full-sync request through the
 * ingestor; failures are logged and kept in the dataset's status, never thrown at the timer.
 *
 * Due times are claimed in the dataset's stored status (`lastDueAt`, compare-and-set through the
 * store's atomic read-modify-write), so with several hub processes on one store a due time runs
 * once even if two of them think they lead; a claim also marks the run as running (renewed while
 * it lasts), and no process claims the next due time while another's run is marked. A schedule
 * that is new or changed is due at once; otherwise the next due time follows the stored last claim,
 * so a restart or a change of leader neither repeats nor skips a run. Due times missed while no
 * process ran (or while a run was still going) are caught up with one run, not one each.
 */
export class Scheduler {
  private readonly timers = new Map<string, unknown>();
  /** bumped by arm/disarm: a timer or plan of an older arming does nothing */
  private readonly generation = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<PullResult>>();
  private readonly abort = new AbortController();
  private readonly clock: Clock;

  constructor(
    private readonly hub: Hub,
    private readonly logger: Logger,
    private readonly options: SchedulerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Follows the dataset's rules from now on: runs when its schedule is new or changed, then when due. */
  arm(name: string): void {
    this.disarm(name);
    const gen = (this.generation.get(name) ?? 0) + 1;
    this.generation.set(name, gen);
    void this.tick(name, gen);
  }

  disarm(name: string): void {
    const t = this.timers.get(name);
    if (t !== undefined) this.clock.clearTimer(t);
    this.timers.delete(name);
    this.generation.set(name, (this.generation.get(name) ?? 0) + 1);
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
    for (const t of this.timers.values()) this.clock.clearTimer(t);
    this.timers.clear();
    this.generation.clear();
    await Promise.all([...this.inFlight.values()].map((p) => p.catch(() => undefined)));
  }

  /** When the dataset's next run is due (now or in the past when it is owed), or undefined: never. */
  dueAt(d: DatasetRecord): number | undefined {
    const schedule = configOf(d).schedule;
    if (!schedule) return undefined;
    const s = opsStatus(d, 'schedule');
    if (s.configKey !== scheduleKey(d) || typeof s.lastDueAt !== 'number') return this.clock.now();
    return nextRunTime(resolvedRules(schedule), s.lastDueAt);
  }

  private current(name: string, gen: number): boolean {
    return this.generation.get(name) === gen && !this.abort.signal.aborted;
  }

  private later(name: string, gen: number, delayMs: number): void {
    if (!this.current(name, gen)) return;
    const timer = this.clock.setTimer(() => {
      this.timers.delete(name);
      void this.tick(name, gen);
    }, clampTimer(delayMs));
    this.timers.set(name, timer);
  }

  /** Runs the dataset if it is due (claiming the due time), then waits for the next one. */
  private async tick(name: string, gen: number): Promise<void> {
    try {
      while (this.current(name, gen)) {
        const d = await this.hub.datasets.get(name);
        const due = d ? this.dueAt(d) : undefined;
        if (!d || due === undefined || !this.current(name, gen)) return;
        const now = this.clock.now();
        // not yet (a long wait is re-armed in steps: timers hold at most ~24 days)
        if (due > now) return this.later(name, gen, due - now);
        const running = this.inFlight.get(name);
        if (running) {
          // a run is still going: the due time waits for it and then runs once
          await running.catch(() => undefined);
          continue;
        }
        const claim = await this.claim(d, now);
        if (claim === 'busy') return this.later(name, gen, RUN_LEASE_MS / 3);
        if (claim === 'won') await this.run(name, true).catch(() => undefined);
        // lost: another process claimed it; read the status again either way
      }
    } catch (err) {
      this.logger.warn({ err, dataset: name }, 'could not plan the next scheduled pull');
      this.later(name, gen, RUN_LEASE_MS / 3);
    }
  }

  /** Takes the due time, unless another process did since `d` was read or its run is still going. */
  private async claim(d: DatasetRecord, now: number): Promise<'won' | 'lost' | 'busy'> {
    const seen = opsStatus(d, 'schedule');
    const key = scheduleKey(d);
    const { holder } = this.options;
    let outcome: 'won' | 'lost' | 'busy' = 'lost';
    await updateOpsStatus(this.hub.store, d.name, 'schedule', (s) => {
      if (s.lastDueAt !== seen.lastDueAt || s.configKey !== seen.configKey) {
        outcome = 'lost';
        return s;
      }
      const run = isObject(s.running) ? s.running : undefined;
      if (run && run.holder !== holder && Number(run.until) > this.clock.now()) {
        outcome = 'busy';
        return s;
      }
      outcome = 'won';
      return { ...s, lastDueAt: now, configKey: key, running: { holder, until: now + RUN_LEASE_MS } };
    });
    return outcome;
  }

  /** Keeps the claimed run's mark fresh while it lasts, and clears it when it ends. */
  private async heartbeat<T>(name: string, work: Promise<T>): Promise<T> {
    const { holder } = this.options;
    const mark = (fn: (s: JsonObject) => JsonObject): Promise<unknown> =>
      updateOpsStatus(this.hub.store, name, 'schedule', (s) =>
        isObject(s.running) && s.running.holder === holder ? fn(s) : s,
      ).catch((err: unknown) => this.logger.warn({ err, dataset: name }, 'could not mark the running pull'));
    let timer: unknown;
    const beat = (): void => {
      timer = this.clock.setTimer(() => {
        void mark((s) => ({ ...s, running: { holder, until: this.clock.now() + RUN_LEASE_MS } }));
        beat();
      }, RUN_LEASE_MS / 3);
    };
    beat();
    try {
      return await work;
    } finally {
      this.clock.clearTimer(timer);
      await mark(({ running: _running, ...rest }) => rest);
    }
  }

  /** `claimed`: a due time this process claimed, whose running mark it keeps and clears. */
  private run(name: string, claimed = false): Promise<PullResult> {
    const running = this.inFlight.get(name);
    if (running) return running;
    const pull = this.pull(name);
    const p = (claimed ? this.heartbeat(name, pull) : pull).finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, p);
    return p;
  }

  private async pull(name: string): Promise<PullResult> {
    const dataset = await this.hub.datasets.require(name);
    const schedule = configOf(dataset).schedule;
    if (!schedule) throw hubError('NO_SCHEDULE', `dataset '${name}' has no schedule`);
    const startedAt = this.clock.now();
    try {
      const result = await this.fetchAndApply(name, schedule);
      this.logger.info({ dataset: name, ...result }, 'scheduled pull done');
      return result;
    } catch (err) {
      if (this.abort.signal.aborted) throw hubError('STOPPING', 'the hub is shutting down');
      const message =
        isHubError(err) || err instanceof SnapshotError
          ? err.message
          : isFtpUrl(schedule.url)
            ? describeFtpError(err, schedule.url)
            : describeHttpError(err);
      this.logger.warn({ dataset: name, error: message }, 'scheduled pull failed');
      await updateOpsStatus(this.hub.store, name, 'schedule', (s) => ({
        ...s,
        lastRunAt: iso(startedAt),
        lastError: message,
        lastErrorAt: iso(this.clock.now()),
      }));
      throw hubError('SCHEDULE_FAILED', `the scheduled pull failed: ${message}`);
    }
  }

  private async fetchAndApply(name: string, schedule: ScheduleConfig): Promise<PullResult> {
    const startedAt = this.clock.now();
    const snap = await this.download(schedule);
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
      lastSuccessAt: iso(this.clock.now()),
      lastError: null,
      lastResult: { ...result },
      fingerprint,
      appliedEpoch: applied?.epoch ?? dataset.epoch,
      appliedSeq: applied?.lastSeq ?? dataset.lastSeq,
    }));
    return result;
  }

  /** Bounded retries for transport failures; a resource that cannot be parsed is not retried. */
  private async download(schedule: ScheduleConfig) {
    const { attempts, retryBaseMs, retryMaxMs, client, maxBytes, ftpTimeoutMs, tls } = this.options;
    const { url, format, username, password } = schedule;
    const signal = this.abort.signal;
    const ftp = isFtpUrl(url);
    for (let attempt = 1; ; attempt++) {
      try {
        return ftp
          ? await fetchFtpSnapshot(url, format, {
              maxBytes,
              signal,
              timeoutMs: ftpTimeoutMs,
              username,
              password,
              tls,
            })
          : await fetchSnapshot(client, url, format, { maxBytes, signal, username, password });
      } catch (err) {
        if (attempt >= attempts || !(ftp ? transientFtp(err) : transient(err)) || signal.aborted) throw err;
        await sleep(backoffDelay(attempt, retryBaseMs, retryMaxMs), undefined, { signal });
      }
    }
  }

  /** The `schedule` block of GET /datasets/{id}: its rules, the next due times, the last run. */
  status(d: DatasetRecord): JsonObject | undefined {
    const schedule = configOf(d).schedule;
    if (!schedule) return undefined;
    const s = opsStatus(d, 'schedule');
    const now = this.clock.now();
    const rules = resolvedRules(schedule);
    const due = this.dueAt(d);
    // an owed run (new config, or missed while no process ran) is due now; then the rules' own times
    const upcoming = nextRunTimes(rules, now, 5);
    const nextRuns = due !== undefined && due <= now ? [now, ...upcoming.slice(0, 4)] : upcoming;
    const run = isObject(s.running) ? s.running : undefined;
    return {
      url: maskUrlPassword(schedule.url),
      format: schedule.format ?? null,
      everyMinutes: schedule.everyMinutes ?? null,
      timeZone: schedule.timeZone ?? DEFAULT_TIME_ZONE,
      rules: rules as unknown as JsonObject[],
      running: run !== undefined && Number(run.until) > now,
      nextRunAt: iso(nextRuns[0]),
      nextRuns: nextRuns.map((t) => iso(t) as string),
      lastRunAt: s.lastRunAt ?? null,
      lastSuccessAt: s.lastSuccessAt ?? null,
      lastError: s.lastError ?? null,
      lastErrorAt: s.lastErrorAt ?? null,
      lastResult: s.lastResult ?? null,
    };
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

/**
 * What, once changed, makes a schedule due at once: where and how it pulls, when, and the rules
 * its records are written under. A hash, as it is stored beside the status and the config carries
 * credentials.
 */
function scheduleKey(d: DatasetRecord): string {
  const config = configOf(d);
  return createHash('sha256')
    .update(
      canonicalJson({
        createdAt: d.createdAt,
        schedule: (config.schedule ?? null) as unknown as JsonObject,
        uniqueKeys: config.uniqueKeys ?? null,
        schema: (config.schema ?? null) as JsonObject,
        validationMode: config.validationMode ?? null,
      }),
    )
    .digest('hex');
}
