import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { hubError, type HubError } from '../errors.js';
import type { FeedContext, FeedItem } from './jsonld-feed.js';
import type { Verb } from './jsonld-verbs.js';
import type { WorkerResult, WorkerSetup, WorkerTask } from './jsonld-worker.js';

export interface JsonLdPoolOptions {
  /** worker threads (JSON-LD work of the whole hub runs on these, never on the event loop) */
  readonly threads: number;
  /** how long one task may run (time in the queue not counted) before its thread is stopped */
  readonly timeoutMs: number;
  /** tasks waiting for a thread before new ones are refused with 503 */
  readonly maxQueue: number;
  /** bytes one answer (an expansion, N-Quads…) may have */
  readonly maxResultBytes: number;
  /** heap of one thread: a document whose processing needs more is refused, the hub stays up */
  readonly maxHeapMb: number;
  /** the hub's built-in contexts (name → text), given to every thread when it starts */
  readonly builtIn: ReadonlyMap<string, string>;
  /** the registered contexts as of now (name → text), sent with every task */
  readonly registered: () => ReadonlyMap<string, string>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type TaskInput = DistributiveOmit<WorkerTask, 'started' | 'registered'>;

/** A request body the task may take over instead of having it copied: one that owns its whole buffer. */
function movable(input: TaskInput): ArrayBuffer[] {
  if (input.op !== 'verb') return [];
  const { buffer, byteOffset, byteLength } = input.body;
  return buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength
    ? [buffer]
    : [];
}

const busy = (): HubError =>
  hubError('JSONLD_BUSY', 'every JSON-LD worker is busy and the queue is full; retry shortly', {
    retryAfter: 1,
  });

/**
 * The JSON-LD worker pool (piscina): expansion, compaction, the other verbs and the feeds'
 * format=jsonld items run here, each task bounded in time (422 past it, the thread is replaced),
 * in heap (422) and in queue length (503 + Retry-After).
 */
/**
 * The thread's module: compiled (`npm start` runs dist/), the worker itself; as TypeScript, the
 * shim that makes sure the thread has tsx's loader before it imports the worker.
 */
const WORKER_FILE = import.meta.url.endsWith('.js')
  ? new URL('./jsonld-worker.js', import.meta.url).href
  : new URL('./jsonld-worker-entry.mjs', import.meta.url).href;

export class JsonLdPool {
  private readonly pool: Piscina;
  /** tasks running or waiting: one per thread runs, the rest wait in piscina's queue */
  private inFlight = 0;

  constructor(private readonly options: JsonLdPoolOptions) {
    this.pool = new Piscina({
      filename: WORKER_FILE,
      minThreads: options.threads,
      maxThreads: options.threads,
      // the bound is this class's (inFlight): piscina's own counts a task queued for a moment
      // while a free thread picks it up, which refuses work with nothing busy
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
      resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb },
      workerData: { builtIn: [...options.builtIn] } satisfies WorkerSetup,
    });
  }

  get threads(): number {
    return this.options.threads;
  }

  /** One verb of the utility routes on a request body (JSON, or N-Quads text). */
  async verb(
    verb: Verb,
    body: Uint8Array,
    nquads: boolean,
    signal?: AbortSignal,
  ): Promise<{ bytes: Buffer; contentType: string }> {
    const r = await this.run(
      { op: 'verb', verb, body, nquads, maxResultBytes: this.options.maxResultBytes },
      signal,
    );
    if (!('bytes' in r)) throw hubError('INTERNAL', 'the JSON-LD worker answered a verb with items');
    return {
      bytes: Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength),
      contentType: r.contentType,
    };
  }

  /** A batch of feed items in expanded JSON-LD. */
  async feed(items: readonly FeedItem[], context: FeedContext, signal?: AbortSignal): Promise<string[]> {
    const r = await this.run({ op: 'feed', items, context }, signal);
    if (!('items' in r)) throw hubError('INTERNAL', 'the JSON-LD worker answered a feed with bytes');
    return r.items;
  }

  private async run(input: TaskInput, signal?: AbortSignal): Promise<WorkerResult & { ok: true }> {
    if (this.inFlight >= this.options.threads + this.options.maxQueue) throw busy();
    this.inFlight++;
    const { port1, port2 } = new MessageChannel();
    const timedOut = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    port1.once('message', () => {
      timer = setTimeout(() => timedOut.abort(), this.options.timeoutMs);
    });
    const task = {
      ...input,
      registered: [...this.options.registered()],
      started: port2,
    } as unknown as WorkerTask;
    let result: WorkerResult;
    try {
      result = (await this.pool.run(task, {
        transferList: [port2, ...movable(input)],
        signal: signal ? AbortSignal.any([signal, timedOut.signal]) : timedOut.signal,
      })) as WorkerResult;
    } catch (err) {
      throw this.failure(err, timedOut.signal.aborted);
    } finally {
      this.inFlight--;
      clearTimeout(timer);
      port1.close();
    }
    if (!result.ok) {
      const err = result.error;
      throw hubError(err.code, err.message, err.details);
    }
    return result;
  }

  private failure(err: unknown, timedOut: boolean): HubError {
    if (timedOut)
      return hubError(
        'JSONLD_TIMEOUT',
        `processing the document took longer than ${this.options.timeoutMs} ms; it was stopped`,
        { limit: this.options.timeoutMs },
      );
    const e = err as { code?: unknown; message?: unknown; name?: unknown };
    if (e?.code === 'ERR_WORKER_OUT_OF_MEMORY')
      return hubError(
        'JSONLD_TOO_LARGE',
        `processing the document needed more than the ${this.options.maxHeapMb} MB one JSON-LD task may use`,
        { limit: this.options.maxHeapMb },
      );
    if (typeof e?.message === 'string' && /queue is at limit/i.test(e.message)) return busy();
    // the client went away: nobody reads this answer
    if (e?.name === 'AbortError') return hubError('REQUEST_ABORTED', 'the client closed the request');
    return hubError('INTERNAL', 'the JSON-LD worker failed');
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
