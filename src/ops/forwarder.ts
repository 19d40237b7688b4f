import type { Got } from 'got';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import { openChanges, openCurrent } from '../domain/feed.js';
import type { KindForwarder, KindForwarders, UpstreamCalls, UpstreamConfig } from '../domain/forwarding.js';
import type { Hub } from '../domain/hub.js';
import { namespacesOf } from '../domain/namespaces.js';
import { decodeSeqToken, encodeSeqToken } from '../domain/tokens.js';
import type { Change, DatasetRecord, JsonObject } from '../store/types.js';
import { backoffDelay } from './backoff.js';
import { describeHttpError } from './outgoing.js';

export interface ForwarderOptions {
  readonly client: Got;
  /** how each kind travels upstream, as its protocol registered it */
  readonly forwarders: KindForwarders;
  /** changes per read from the local feed (one or more upstream requests) */
  readonly batchChanges: number;
  /** document bytes per upstream request, well under the upstream's 5 MiB body limit */
  readonly batchBytes: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

/** Where the forwarder stands, kept in the dataset's aux entries (ns `ops`, key `forward`). */
interface StoredPosition {
  /** which upstream this position is for: another upstream starts from the beginning */
  readonly target: string;
  /** a changes token of the local feed: everything up to it is acknowledged upstream */
  readonly token: string;
}

const AUX_NS = 'ops';
const AUX_KEY = 'forward';
/** Batches forwarded in one go before the forwarder yields to the event loop. */
const BATCHES_PER_TURN = 100;

const targetOf = (u: UpstreamConfig): string => `${u.url.replace(/\/+$/, '')}\n${u.dataset}`;

/**
 * Hub-to-hub sync (docs/operations.md#forwarding): forwards one dataset's changelog to another hub. It reads
 * the local changes feed from a durably stored position, sends the changes in order — runs of the same route
 * as one request each (ICAR resources, UDA entities, ODS record pushes and deletes) — and moves the stored
 * position only after the upstream answered 2xx. A failure is retried with exponential backoff; a restart
 * resumes at the stored position. Every upstream request is idempotent (an identical document makes no
 * change), so a batch sent twice after a crash does no harm, and the upstream ends with exactly the local
 * current state.
 *
 * The forwarder knows no kind: each protocol registers how its kind travels (src/domain/forwarding.ts).
 * It wakes on the store's commit notices instead of polling. When the local dataset moves to a new
 * epoch (a recovery's rebuild, a restore), the upstream is first made equal to the new epoch's current
 * state — each kind's resync, its protocol's full sync or deletes of what the upstream holds beyond it
 * — and then the new epoch is sent from its start; the position moves to the new epoch only once the
 * resync is done, so one cut short runs again.
 */
export class Forwarder {
  private token: string | undefined;
  private epoch: string | undefined;
  private seq = 0;
  private failures = 0;
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;
  private lastForwardAt: number | null = null;
  private busy = false;
  private resyncing = false;
  private again = false;
  private stopped = false;
  /** the stored position has been read: until then the status says `starting` */
  private started = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private unsubscribe: () => void = () => undefined;
  private readonly abort = new AbortController();
  private readonly calls: UpstreamCalls = {
    post: async (req) => {
      await this.options.client.post(req.url, {
        body: req.body,
        headers: { 'content-type': 'application/json', ...req.headers, authorization: this.authorization },
        signal: this.abort.signal,
      });
    },
    lines: (url) => this.lines(url),
  };

  constructor(
    private readonly hub: Hub,
    private readonly name: string,
    private readonly upstream: UpstreamConfig,
    private readonly logger: Logger,
    private readonly options: ForwarderOptions,
  ) {}

  async start(): Promise<void> {
    const raw = await this.hub.store.auxGet(this.name, AUX_NS, AUX_KEY);
    if (raw !== undefined) {
      try {
        const stored = JSON.parse(raw) as StoredPosition;
        if (stored.target === targetOf(this.upstream)) this.setPosition(stored.token);
      } catch (err) {
        // an unreadable position costs a full resend (idempotent), never a stuck forwarder
        this.logger.warn({ err, dataset: this.name }, 'stored forwarding position unreadable: starting over');
      }
    }
    this.started = true;
    this.unsubscribe = this.hub.store.subscribe((n) => {
      if (n.dataset === this.name) this.kick();
    });
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.unsubscribe();
    clearTimeout(this.retryTimer);
    await this.running;
  }

  status(d: DatasetRecord): JsonObject {
    const forwarded = this.epoch === d.epoch ? this.seq : 0;
    return {
      url: this.upstream.url,
      dataset: this.upstream.dataset,
      position: this.token ?? null,
      forwardedSeq: forwarded,
      lag: Math.max(0, d.lastSeq - forwarded),
      state: !this.started
        ? 'starting'
        : this.retryTimer
          ? 'retrying'
          : this.resyncing
            ? 'resyncing'
            : this.busy
              ? 'forwarding'
              : 'idle',
      lastForwardAt: this.lastForwardAt === null ? null : new Date(this.lastForwardAt).toISOString(),
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt === null ? null : new Date(this.lastErrorAt).toISOString(),
    };
  }

  /** Something may be new: forward it, unless a run is under way (it will look again) or backing off. */
  private kick(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    if (this.retryTimer) return;
    this.busy = true;
    this.again = false;
    this.running = this.pump().finally(() => {
      this.busy = false;
      if (this.again && !this.retryTimer) this.kick();
    });
  }

  private async pump(): Promise<void> {
    try {
      for (let i = 0; i < BATCHES_PER_TURN && !this.stopped; i++) {
        if (!(await this.step())) {
          this.failures = 0;
          return;
        }
      }
      this.again = true;
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      this.lastError = describeHttpError(err);
      this.lastErrorAt = Date.now();
      const delay = backoffDelay(this.failures, this.options.retryBaseMs, this.options.retryMaxMs);
      this.logger.warn(
        { dataset: this.name, upstream: this.upstream.url, error: this.lastError, retryInMs: delay },
        'forwarding failed',
      );
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.kick();
      }, delay);
    }
  }

  /** Forwards the next batch. False when there was nothing left to forward. */
  private async step(): Promise<boolean> {
    const dataset = await this.hub.datasets.get(this.name);
    if (!dataset) return false;
    const reader = openChanges(this.hub.store, this.hub.secret, dataset, {
      since: this.token,
      limit: this.options.batchChanges,
    });
    if (reader.fullSync && this.token !== undefined) {
      this.logger.info(
        { dataset: this.name, epoch: dataset.epoch },
        'local dataset has a new epoch: making the upstream equal to it, then forwarding it from the start',
      );
      await this.resync(dataset);
      await this.advance(dataset, 0);
      return true;
    }
    const batch: Change[] = [];
    let bytes = 0;
    for await (const c of reader.items()) {
      if (batch.length > 0 && bytes + c.doc.length > this.options.batchBytes) break;
      batch.push(c);
      bytes += c.doc.length + 1;
    }
    if (batch.length === 0) return false;

    const namespaces = namespacesOf(dataset.attrs);
    for (const run of runs(batch, this.options.forwarders)) {
      const last = run.changes[run.changes.length - 1]!;
      if (run.forwarder) {
        // the batch is under batchBytes, so each run of it fits one upstream request
        await this.calls.post(run.forwarder.request(this.upstream, run.changes, namespaces));
      } else {
        this.logger.warn({ dataset: this.name, kind: last.kind }, 'no upstream route for this kind: skipped');
      }
      await this.advance(dataset, last.seq);
    }
    this.lastForwardAt = Date.now();
    this.lastError = null;
    return true;
  }

  /** Every registered kind makes its part of the upstream equal to the local current state. */
  private async resync(dataset: DatasetRecord): Promise<void> {
    this.resyncing = true;
    try {
      const namespaces = namespacesOf(dataset.attrs);
      for (const [kind, forwarder] of this.options.forwarders.entries()) {
        await forwarder.resync({
          upstream: this.upstream,
          epoch: dataset.epoch,
          namespaces,
          calls: this.calls,
          batchBytes: this.options.batchBytes,
          local: () => ofKind(openCurrent(this.hub.store, this.hub.secret, dataset, {}).items(), kind),
          isLive: async (key) => {
            const c = await this.hub.store.get(this.name, key);
            return c !== undefined && !c.deleted;
          },
        });
      }
    } finally {
      this.resyncing = false;
    }
  }

  private get authorization(): string {
    return `Bearer ${this.upstream.key}`;
  }

  /** A JSON-lines answer of the upstream, line by line; a failed call rejects (the forwarder backs off). */
  private async *lines(url: string): AsyncGenerator<string> {
    // a signal of this call only: got keeps listening to the signal it was given after the
    // stream ended, and would raise an AbortError nobody catches when the forwarder stops
    const call = new AbortController();
    const abort = (): void => call.abort();
    this.abort.signal.addEventListener('abort', abort, { once: true });
    const stream = this.options.client.stream(url, {
      headers: { authorization: this.authorization },
      signal: call.signal,
      // a stream cannot be retried half-read: a failure fails the resync, which the forwarder retries
      retry: { limit: 0 },
    });
    try {
      const decoder = new StringDecoder('utf8');
      let rest = '';
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const lines = (rest + decoder.write(chunk)).split('\n');
        rest = lines.pop()!;
        yield* lines;
      }
      rest += decoder.end();
      if (rest !== '') yield rest;
    } finally {
      this.abort.signal.removeEventListener('abort', abort);
      stream.destroy();
    }
  }

  /** Acknowledged upstream: move the stored position (a lost write only means a harmless resend). */
  private async advance(dataset: DatasetRecord, seq: number): Promise<void> {
    const token = encodeSeqToken(this.hub.secret, this.name, { epoch: dataset.epoch, seq });
    const value: StoredPosition = { target: targetOf(this.upstream), token };
    await this.hub.store.auxPut(this.name, [{ ns: AUX_NS, key: AUX_KEY, value: JSON.stringify(value) }]);
    this.setPosition(token);
  }

  private setPosition(token: string): void {
    const pos = decodeSeqToken(this.hub.secret, this.name, token);
    this.token = token;
    this.epoch = pos.epoch;
    this.seq = pos.seq;
  }
}

interface Run {
  readonly kind: string;
  readonly lane: string;
  readonly forwarder: KindForwarder | undefined;
  readonly changes: Change[];
}

/** Consecutive changes of the same kind and lane (one upstream request each), in order. */
function runs(changes: readonly Change[], forwarders: KindForwarders): Run[] {
  const out: Run[] = [];
  for (const c of changes) {
    const forwarder = forwarders.get(c.kind);
    const lane = forwarder?.lane?.(c) ?? '';
    const prev = out[out.length - 1];
    if (prev && prev.kind === c.kind && prev.lane === lane) prev.changes.push(c);
    else out.push({ kind: c.kind, lane, forwarder, changes: [c] });
  }
  return out;
}

async function* ofKind(changes: AsyncIterable<Change>, kind: string): AsyncGenerator<Change> {
  for await (const c of changes) if (c.kind === kind) yield c;
}
