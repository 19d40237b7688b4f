import { CONTEXT, milking } from '../helpers/data.js';
import type { HubProcess } from '../helpers/hub-process.js';

/**
 * The load a failover test puts on two hubs, and the record of every answer it got: pushers on the
 * ICAR and ODS push routes that re-push a batch until it is acknowledged (a re-push is always safe,
 * docs/postgres-ha.md), and a long-poll reader. Nothing here judges; the spec does, from the record.
 */

export type Dialect = 'icar' | 'ods';

/** One HTTP exchange as the client saw it. `status` 0: no answer (connection refused, reset, timeout). */
export interface Answer {
  readonly kind: Dialect | 'longpoll' | 'collector';
  readonly hub: string;
  readonly start: number;
  readonly end: number;
  readonly status: number;
  readonly retryAfter: string | null;
  /** the hub's error code (or the ODS errorcode/message), or the network error */
  readonly detail?: string;
}

export interface Batch {
  readonly id: string;
  readonly dialect: Dialect;
  readonly size: number;
  /** when the 200 arrived, if one did */
  ackedAt?: number;
  attempts: number;
}

export interface Target {
  readonly dialect: Dialect;
  readonly dataset: string;
  readonly pushKey: string;
  readonly readKey: string;
}

/** A push gives up waiting after this; far above any bound the engine documents, so it only marks a hang. */
const CLIENT_TIMEOUT_MS = 120_000;
/** A pusher's pause after a failed push before it re-pushes the same batch. */
const RETRY_PAUSE_MS = 200;
/** How long one long-poll of the reader waits for a change. */
export const LONGPOLL_TIMEOUT_MS = 5_000;
/** How often the collectors read the feed. */
const COLLECT_EVERY_MS = 500;

export const batchOf = (item: Record<string, unknown>): string | undefined =>
  (item.batch ?? (item.fields as Record<string, unknown> | undefined)?.batch) as string | undefined;

function detailOf(text: string): string | undefined {
  try {
    // the hub's own body, {"error":{"code","message"}} or flat, and the ODS bodies
    const top = JSON.parse(text) as Record<string, unknown>;
    const j = (typeof top.error === 'object' && top.error !== null ? top.error : top) as Record<
      string,
      unknown
    >;
    const code = j.code ?? j.error_code ?? j.errorcode;
    const msg = j.message ?? j.error;
    return (
      [code, msg]
        .filter((x) => x !== undefined)
        .map((x) => (typeof x === 'string' ? x : JSON.stringify(x)))
        .join(' ')
        .slice(0, 160) || undefined
    );
  } catch {
    return text.slice(0, 160) || undefined;
  }
}

function body(t: Target, batch: Batch): { url: (hub: HubProcess) => string; init: RequestInit } {
  if (t.dialect === 'icar') {
    const resources = Array.from({ length: batch.size }, (_, i) => ({
      ...milking(i, `src.${batch.id}`),
      batch: batch.id,
    }));
    return {
      url: (hub) => `${hub.url}/dataset/${t.dataset}/resources`,
      init: {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.pushKey}` },
        body: JSON.stringify([CONTEXT, ...resources]),
      },
    };
  }
  const records = Array.from({ length: batch.size }, (_, i) => ({
    batch: batch.id,
    n: i,
    robot: `robot-${i % 4}`,
  }));
  return {
    url: (hub) => `${hub.url}/api/push/1.0/${t.dataset}/realtime/push/?pushkey=${t.pushKey}`,
    init: { method: 'POST', body: JSON.stringify(records) },
  };
}

async function exchange(
  kind: Answer['kind'],
  hubName: string,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<{ answer: Answer; text: string; fullSync: boolean }> {
  const start = Date.now();
  try {
    const r = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const text = await r.text();
    return {
      fullSync: r.headers.get('icar-full-sync') === 'true',
      answer: {
        kind,
        hub: hubName,
        start,
        end: Date.now(),
        status: r.status,
        retryAfter: r.headers.get('retry-after'),
        ...(r.status !== 200 ? { detail: detailOf(text) } : {}),
      },
      text,
    };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return {
      answer: {
        kind,
        hub: hubName,
        start,
        end: Date.now(),
        status: 0,
        retryAfter: null,
        detail: `${e.name}: ${e.cause?.code ?? e.message}`,
      },
      text: '',
      fullSync: false,
    };
  }
}

export interface LoadPlan {
  /** pusher i pushes to targets[pushers[i].target] through hubs[pushers[i].hub] */
  readonly pushers: readonly { target: number; hub: number }[];
  readonly targets: readonly Target[];
  readonly hubs: readonly { name: string; process: () => HubProcess }[];
  /** the long-poll reader follows targets[reader.target] on hubs[reader.hub] */
  readonly reader: { target: number; hub: number };
  readonly prefix: string;
}

export interface Load {
  readonly answers: Answer[];
  readonly batches: Map<string, Batch>;
  /** every item the reader got, in order, and when each answer with items arrived */
  readonly readerItems: Record<string, unknown>[];
  readonly readerWakes: { at: number; items: number }[];
  /** when the reader was told to full-sync (it then starts over: readerItems is what it read since) */
  readonly readerFullSyncs: number[];
  /**
   * Per target, what a plain collector (GET /changes through the reader's hub every 500 ms, from
   * its last token) held after each read: its token and how many items it had read in all.
   */
  readonly collected: { at: number; token: string; batches: ReadonlySet<string> }[][];
  readonly acknowledged: () => number;
  /** stops pushing and reading; resolves once every request in flight has ended */
  stop(): Promise<void>;
}

export function startLoad(plan: LoadPlan, readerToken: string): Load {
  const answers: Answer[] = [];
  const batches = new Map<string, Batch>();
  const readerItems: Record<string, unknown>[] = [];
  const readerWakes: { at: number; items: number }[] = [];
  const readerFullSyncs: number[] = [];
  const collected: Load['collected'] = plan.targets.map(() => []);
  let stopping = false;
  let acked = 0;

  const pusher = async (p: number): Promise<void> => {
    const { target, hub } = plan.pushers[p]!;
    const t = plan.targets[target]!;
    const h = plan.hubs[hub]!;
    for (let n = 0; !stopping; n++) {
      const batch: Batch = {
        id: `${plan.prefix}-p${p}-n${n}`,
        dialect: t.dialect,
        size: 1 + ((p * 7 + n * 3) % 20),
        attempts: 0,
      };
      batches.set(batch.id, batch);
      const { url, init } = body(t, batch);
      while (!stopping) {
        batch.attempts++;
        const { answer } = await exchange(t.dialect, h.name, url(h.process()), init, CLIENT_TIMEOUT_MS);
        answers.push(answer);
        if (answer.status === 200) {
          batch.ackedAt = answer.end;
          acked++;
          break;
        }
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
  };

  const reader = async (): Promise<void> => {
    const t = plan.targets[plan.reader.target]!;
    const h = plan.hubs[plan.reader.hub]!;
    let token = readerToken;
    while (!stopping) {
      const url = `${h.process().url}/datasets/${t.dataset}/changes?feed=longpoll&timeout=${LONGPOLL_TIMEOUT_MS}&since=${encodeURIComponent(token)}`;
      const { answer, text, fullSync } = await exchange(
        'longpoll',
        h.name,
        url,
        { headers: { authorization: `Bearer ${t.readKey}` } },
        LONGPOLL_TIMEOUT_MS + CLIENT_TIMEOUT_MS,
      );
      answers.push(answer);
      if (answer.status === 200) {
        const arr = JSON.parse(text) as Record<string, unknown>[];
        const items = arr.slice(1, -1);
        if (fullSync) {
          // the dataset was given a new epoch: a collector drops what it had and reads it anew
          readerFullSyncs.push(answer.end);
          readerItems.length = 0;
        }
        readerItems.push(...items);
        if (items.length > 0) readerWakes.push({ at: answer.end, items: items.length });
        token = String(arr.at(-1)?.token);
      } else await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
    }
  };

  const collector = async (target: number): Promise<void> => {
    const t = plan.targets[target]!;
    const h = plan.hubs[plan.reader.hub]!;
    let token: string | undefined;
    let batches = new Set<string>();
    while (!stopping) {
      const q = token ? `?since=${encodeURIComponent(token)}` : '';
      const { answer, text, fullSync } = await exchange(
        'collector',
        h.name,
        `${h.process().url}/datasets/${t.dataset}/changes${q}`,
        { headers: { authorization: `Bearer ${t.readKey}` } },
        CLIENT_TIMEOUT_MS,
      );
      if (answer.status === 200) {
        const arr = JSON.parse(text) as Record<string, unknown>[];
        if (fullSync) batches = new Set();
        for (const item of arr.slice(1, -1)) {
          const b = batchOf(item);
          if (b !== undefined) batches.add(b);
        }
        token = String(arr.at(-1)?.token);
        collected[target]!.push({ at: answer.end, token, batches: new Set(batches) });
      }
      await new Promise((r) => setTimeout(r, COLLECT_EVERY_MS));
    }
  };

  const running = [
    ...plan.pushers.map((_, p) => pusher(p)),
    reader(),
    ...plan.targets.map((_, i) => collector(i)),
  ];
  return {
    answers,
    batches,
    readerItems,
    readerWakes,
    readerFullSyncs,
    collected,
    acknowledged: () => acked,
    async stop() {
      stopping = true;
      await Promise.all(running);
    },
  };
}
