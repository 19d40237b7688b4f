import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { workerData, type MessagePort } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { hubError, isHubError, type ErrorCode } from '../errors.js';
import { FastExpanders, renderFeedItems, type FeedContext, type FeedItem } from './jsonld-feed.js';
import { documentLoader, StaticContexts } from './jsonld-loader.js';
import { readVerbRequest, runVerb, type Verb } from './jsonld-verbs.js';

/**
 * A thread of the JSON-LD pool (src/domain/jsonld-pool.ts). It parses the request, runs jsonld.js
 * and serialises the answer, so that the main thread only moves bytes. Errors come back as values
 * (a HubError does not survive the thread boundary as a class).
 */
export type WorkerTask =
  | {
      readonly op: 'verb';
      readonly verb: Verb;
      /** the request body, UTF-8 */
      readonly body: Uint8Array;
      /** the body is N-Quads text, not JSON */
      readonly nquads: boolean;
      readonly maxResultBytes: number;
      readonly registered: ReadonlyArray<readonly [string, string]>;
      /** told when the task starts running, so the time bound counts work, not the queue */
      readonly started: MessagePort;
    }
  | {
      readonly op: 'feed';
      readonly items: readonly FeedItem[];
      readonly context: FeedContext;
      readonly registered: ReadonlyArray<readonly [string, string]>;
      readonly started: MessagePort;
    };

export interface WorkerError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: Record<string, unknown>;
}

export type WorkerResult =
  | { readonly ok: true; readonly bytes: Uint8Array; readonly contentType: string }
  | { readonly ok: true; readonly items: string[] }
  | { readonly ok: false; readonly error: WorkerError };

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Lowers this thread's scheduling priority (Linux: a thread is its own task, niced by its id):
 * when the cores are busy, the event loop thread — health checks, pushes, reads — runs first and
 * JSON-LD work takes the rest. Elsewhere, or when refused, the thread keeps the process's priority.
 */
function yieldToEventLoop(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, JSONLD_NICE);
  } catch {
    // not Linux, or not allowed: same priority as the rest
  }
}
/** The worker threads' nice value: well below the event loop, still above idle work. */
const JSONLD_NICE = 10;

/** What the pool gives every thread when it starts it (piscina's workerData). */
export interface WorkerSetup {
  /** the hub's built-in contexts (name → text), read from the contexts folder at start-up */
  readonly builtIn: ReadonlyArray<readonly [string, string]>;
}

interface Thread {
  readonly builtIn: ReadonlyMap<string, string>;
  readonly expanders: FastExpanders;
}

let thread: Thread | undefined;

/** Set up on the first task rather than on import: the built-in contexts, the priority, the caches. */
function threadState(): Thread {
  if (thread) return thread;
  yieldToEventLoop();
  const setup = workerData as WorkerSetup;
  thread = { builtIn: new Map(setup.builtIn), expanders: new FastExpanders() };
  return thread;
}

/** Any failure as a value: a HubError's code, message and details (its status follows from the code). */
function failure(thrown: unknown): WorkerResult {
  const err = isHubError(thrown)
    ? thrown
    : thrown instanceof RangeError
      ? hubError('JSONLD_TOO_COMPLEX', `the document is too deeply nested to process (${thrown.message})`)
      : hubError('INVALID_JSONLD', thrown instanceof Error ? thrown.message : String(thrown));
  return { ok: false, error: { code: err.code, message: err.message, details: { ...err.details } } };
}

async function runTask(task: WorkerTask): Promise<WorkerResult> {
  const { builtIn, expanders } = threadState();
  // the registered contexts ride with each task: the hub's copy as of the request
  const contexts = new StaticContexts(builtIn, new Map(task.registered));
  if (task.op === 'feed')
    return { ok: true, items: await renderFeedItems(task.items, task.context, contexts, expanders) };
  let text: string;
  try {
    text = decoder.decode(task.body);
  } catch {
    return failure(hubError('INVALID_UTF8', 'the body is not valid UTF-8'));
  }
  let body: unknown;
  if (task.nquads) body = text;
  else {
    try {
      body = JSON.parse(text) as unknown;
    } catch (err) {
      return failure(hubError('INVALID_JSON', `the body is not valid JSON: ${(err as Error).message}`));
    }
  }
  const answer = await runVerb(task.verb, readVerbRequest(task.verb, body), documentLoader(contexts));
  const bytes = Buffer.from(answer.text, 'utf8');
  if (bytes.byteLength > task.maxResultBytes)
    return failure(
      hubError(
        'JSONLD_RESULT_TOO_LARGE',
        `the ${task.verb} result would be ${bytes.byteLength} bytes, more than the ${task.maxResultBytes} bytes one answer may have`,
        { limit: task.maxResultBytes },
      ),
    );
  const out = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { ok: true, bytes: out, contentType: answer.contentType };
}

export default async function jsonLdTask(task: WorkerTask): Promise<unknown> {
  task.started.postMessage('started');
  task.started.close();
  let result: WorkerResult;
  try {
    result = await runTask(task);
  } catch (err) {
    result = failure(err);
  }
  if (result.ok && 'bytes' in result) {
    // the answer's memory moves to the main thread instead of being copied there (piscina's
    // transferable protocol: the list to transfer, and the value to post)
    const whole = result.bytes.byteOffset === 0 && result.bytes.byteLength === result.bytes.buffer.byteLength;
    const value = whole ? result : { ...result, bytes: result.bytes.slice() };
    const movable = { [transferableSymbol]: value.bytes.buffer, [valueSymbol]: value };
    return move(movable as unknown as Parameters<typeof move>[0]);
  }
  return result;
}
