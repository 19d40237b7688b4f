import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { HubError } from '../../../src/errors.js';
import type { AppendRequest, Change, DatasetRecord, Store, Write } from '../../../src/store/types.js';

/** What every file of the store contract (index.ts) shares: the engine's harness, test data, helpers. */

/** Tuning every engine accepts. */
export interface StoreTuning {
  readonly maxPendingBytes?: number;
  readonly maxGroupJobs?: number;
}

/** One store's data, opened as the test needs it. */
export interface EngineHarness {
  /** opens the (initially empty) data */
  open(tuning?: StoreTuning): Promise<Store>;
  /** a second live store on the same data, as another hub process would open it (scale-out engines) */
  readonly peer?: () => Promise<Store>;
  /** removes the data (stores opened on it are closed first by the test) */
  destroy(): Promise<void>;
  /** marks the (closed) data as written by a newer build: a format or schema version this one does not know */
  makeNewer(): Promise<void>;
}

/** What an engine can do beyond the interface: the suite runs the tests of the features it lists. */
export interface EngineFeatures {
  /** several live stores may share the data (scale-out engines): the peer tests run */
  readonly shared?: boolean;
}

export interface EngineFactory {
  readonly name: string;
  readonly features: EngineFeatures;
  /** fresh, empty data for one test or suite */
  create(): Promise<EngineHarness>;
}

export const hashOf = (doc: string): string => createHash('sha1').update(doc).digest('base64url');

export function write(key: string, doc: unknown, extra: Partial<Write> = {}): Write {
  const text = JSON.stringify(doc);
  return { key, kind: 'record', deleted: false, doc: text, hash: hashOf(text), ...extra };
}

export function del(key: string, tomb: unknown = { gone: key }): Write {
  const text = JSON.stringify(tomb);
  return { key, kind: 'record', deleted: true, doc: text, hash: hashOf(text) };
}

/**
 * A rebuild's replay that yields its first request, then holds (`running` resolves) until
 * `release()`, then yields the rest: a test can act while a rebuild is under way.
 */
export function gatedReplay(requests: readonly AppendRequest[]): {
  replay: AsyncIterable<AppendRequest>;
  running: Promise<void>;
  release: () => void;
} {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let started: () => void = () => undefined;
  const running = new Promise<void>((r) => (started = r));
  async function* replay(): AsyncGenerator<AppendRequest> {
    const [first, ...rest] = requests;
    if (first) yield first;
    started();
    await gate;
    yield* rest;
  }
  return { replay: replay(), running, release: () => release() };
}

export async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export async function rejection(p: Promise<unknown>): Promise<HubError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(HubError);
    return err as HubError;
  }
  throw new Error('expected a rejection');
}

export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  ms = 5_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (true) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let counter = 0;
export const uniqueName = (prefix = 'd'): string => `${prefix}-${process.pid}-${++counter}`;

export const KEYS = { push: 'a'.repeat(64), read: 'b'.repeat(64) };

/** The suite's store (opened once for the files that need no fresh one) and its test data. */
export interface Contract {
  readonly factory: EngineFactory;
  readonly store: Store;
  /** a new dataset with unique name and key hashes */
  dataset(config?: Record<string, string>): Promise<DatasetRecord>;
  /** the dataset's changes in its current epoch */
  changesOf(d: DatasetRecord, afterSeq?: number): Promise<Change[]>;
}

export function contractOf(factory: EngineFactory, store: () => Store): Contract {
  return {
    factory,
    get store() {
      return store();
    },
    async dataset(config = {}) {
      const name = uniqueName();
      const keyHashes = { push: hashOf(`${name}-push`), read: hashOf(`${name}-read`) };
      return (await store().putDataset(name, () => ({ config, keyHashes }))).record;
    },
    async changesOf(d, afterSeq = 0) {
      const now = (await store().getDataset(d.name))!;
      return all(store().changes(d.name, { epoch: now.epoch, afterSeq }));
    },
  };
}
