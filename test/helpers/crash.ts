import { expect } from 'chai';
import { CONTEXT, milking } from './data.js';
import { call } from './http.js';

/**
 * Rounds of "push through every protocol, interrupt, restart, check" shared by the crash test
 * (SIGKILL) and the power-loss test (power cut on volatilefs): the same pushers, the same checks.
 */
export interface CrashHub {
  readonly url: string;
  readonly adminToken: string;
}

/** How one push protocol sends a batch whose every record carries `batch`, and finds it in the feed. */
export interface Dialect {
  readonly name: string;
  readonly push: (
    hub: CrashHub,
    dataset: string,
    key: string,
    batch: string,
    size: number,
  ) => Promise<number>;
  readonly batchOf: (item: Record<string, unknown>) => string | undefined;
}

const post = async (
  url: string,
  key: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<number> => (await call(url, { token: key, body, headers })).status;

const fieldsBatch = (item: Record<string, unknown>): string | undefined =>
  ((item.fields as Record<string, unknown> | undefined) ?? item).batch as string | undefined;

/** All four push routes: a protocol missing from the build fails the test (no silent drop-out). */
export const DIALECTS: readonly Dialect[] = [
  {
    name: 'icar',
    push: (hub, ds, key, batch, size) =>
      post(`${hub.url}/datasets/${ds}/resources`, key, [
        CONTEXT,
        ...Array.from({ length: size }, (_, i) => ({ ...milking(i, `src.${batch}`), batch })),
      ]),
    batchOf: (item) => item.batch as string | undefined,
  },
  {
    name: 'uda',
    push: (hub, ds, key, batch, size) =>
      post(`${hub.url}/datasets/${ds}/entities`, key, [
        { id: '@context', namespaces: { _: 'http://data.example.org/props/', ex: 'http://ex.org/' } },
        ...Array.from({ length: size }, (_, i) => ({
          id: `ex:${batch}-${i}`,
          props: { batch, n: i },
          refs: {},
        })),
      ]),
    batchOf: (item) => (item.props as Record<string, unknown> | undefined)?.batch as string | undefined,
  },
  {
    name: 'obsrv',
    push: (hub, ds, key, batch, size) =>
      post(`${hub.url}/v2/data/in/${ds}`, key, {
        id: 'api.data.in',
        ver: 'v2',
        ts: String(Date.now()),
        params: { msgid: batch },
        data: Array.from({ length: size }, (_, i) => ({ eid: 'MILKING', batch, n: i })),
      }),
    batchOf: fieldsBatch,
  },
  {
    name: 'ods',
    push: (hub, ds, key, batch, size) =>
      post(
        `${hub.url}/api/push/1.0/${ds}/realtime/push/?pushkey=${key}`,
        '',
        Array.from({ length: size }, (_, i) => ({ batch, n: i, robot: `robot-${i % 4}` })),
      ),
    batchOf: fieldsBatch,
  },
];

export interface Target {
  readonly dialect: Dialect;
  readonly dataset: string;
  readonly pushKey: string;
  readonly readKey: string;
  /** records per batch, of every batch ever sent */
  readonly sizes: Map<string, number>;
  /** batches answered 200: each must be whole after every later restart */
  readonly acknowledged: Set<string>;
  /** a token read before the last interruption: must stay valid after the restart */
  token?: string;
  itemsAtToken?: number;
}

export async function createTargets(hub: CrashHub, prefix: string): Promise<Target[]> {
  const targets: Target[] = [];
  for (const dialect of DIALECTS) {
    const dataset = `${prefix}-${dialect.name}`;
    const r = await call(`${hub.url}/datasets/${dataset}`, {
      method: 'PUT',
      token: hub.adminToken,
      body: {},
    });
    expect(r.status, `create ${dataset}`).to.be.oneOf([200, 201]);
    const { pushKey, readKey } = r.json as { pushKey: string; readKey: string };
    targets.push({ dialect, dataset, pushKey, readKey, sizes: new Map(), acknowledged: new Set() });
  }
  return targets;
}

async function feed(
  hub: CrashHub,
  t: Target,
  since?: string,
): Promise<{ items: Record<string, unknown>[]; token: string; fullSync: boolean; status: number }> {
  const r = await call(`${hub.url}/datasets/${t.dataset}/changes${since ? `?since=${since}` : ''}`, {
    token: t.readKey,
  });
  const arr = Array.isArray(r.json) ? (r.json as Record<string, unknown>[]) : [];
  return {
    status: r.status,
    items: arr.slice(1, -1),
    token: String(arr.at(-1)?.token),
    fullSync: r.headers.get('icar-full-sync') === 'true',
  };
}

export interface RoundResult {
  /** per protocol: batches answered 200 this round */
  readonly acknowledged: Record<string, number>;
  /** per protocol: pushes under way when the interruption began that it cut off (no 200) */
  readonly cut: Record<string, number>;
  /** status (or 'network error') of every answer before the interruption, counted */
  readonly before: Record<string, number>;
}

export interface RoundOptions {
  readonly hub: CrashHub;
  readonly targets: readonly Target[];
  readonly round: number;
  readonly pushers: number;
  /** the kill or power cut; the pushers are still pushing when it is called */
  readonly interrupt: () => Promise<void>;
}

/** The connection was refused: the push never reached a hub (one started after the kill). */
function refused(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 'ECONNREFUSED') return true;
  }
  return false;
}

const count = (rec: Record<string, number>, key: string): void => {
  rec[key] = (rec[key] ?? 0) + 1;
};

/**
 * One round: take a token per dataset, push through every protocol until each has at least one
 * acknowledged batch and a random total (5–64) is reached, then interrupt with pushes under way.
 * A pusher keeps going through errors (503s, refused connections) until the interruption.
 */
export async function pushUntilInterrupted(o: RoundOptions): Promise<RoundResult> {
  for (const t of o.targets) {
    const f = await feed(o.hub, t);
    expect(f.status, `${t.dialect.name}: feed before the round`).to.equal(200);
    t.token = f.token;
    t.itemsAtToken = f.items.length;
  }
  const acknowledged: Record<string, number> = Object.fromEntries(o.targets.map((t) => [t.dialect.name, 0]));
  const cut: Record<string, number> = Object.fromEntries(o.targets.map((t) => [t.dialect.name, 0]));
  const before: Record<string, number> = {};
  // The interruption begins (stopping) and ends (interrupted) some milliseconds apart: pushers go on
  // between the two, so that pushes are under way when the kill lands however fast the hub answers.
  let stopping = false;
  let interrupted = false;
  let total = 0;
  const pusher = async (p: number): Promise<void> => {
    const t = o.targets[p % o.targets.length]!;
    for (let n = 0; !interrupted; n++) {
      const batch = `r${o.round}-p${p}-n${n}`;
      const size = 1 + ((p * 7 + n * 3) % 30);
      t.sizes.set(batch, size);
      let status: number | undefined;
      let reached = true;
      try {
        status = await t.dialect.push(o.hub, t.dataset, t.pushKey, batch, size);
      } catch (err) {
        status = undefined; // reset, or refused: not acknowledged
        reached = !refused(err);
      }
      if (status === 200) {
        t.acknowledged.add(batch);
        acknowledged[t.dialect.name]!++;
        total++;
      } else if (stopping && reached) {
        // under way when the interruption began or during it, and not acknowledged: cut
        cut[t.dialect.name]!++;
      }
      if (!stopping) count(before, status === undefined ? 'network error' : String(status));
    }
  };
  const running = Array.from({ length: o.pushers }, (_, p) => pusher(p));
  const target = 5 + Math.floor(Math.random() * 60);
  const deadline = Date.now() + 30_000;
  const ready = (): boolean => total >= target && Object.values(acknowledged).every((n) => n > 0);
  while (!ready()) {
    if (Date.now() > deadline) {
      interrupted = true;
      await Promise.all(running);
      throw new Error(
        `round ${o.round}: not every protocol got a 200 in 30 s: ${JSON.stringify({ acknowledged, before })}`,
      );
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  stopping = true;
  await o.interrupt();
  interrupted = true;
  await Promise.all(running);
  return { acknowledged, cut, before };
}

/**
 * After a restart: every acknowledged batch whole, every batch whole or absent (none torn),
 * lastSeq equal to the number of changes (no gaps), the token of before the interruption still
 * resuming where it was. Returns the number of acknowledged batches checked.
 */
export async function checkTargets(hub: CrashHub, targets: readonly Target[]): Promise<number> {
  let checked = 0;
  // every protocol is looked at before failing, so that a failure says how much was lost where
  const problems: string[] = [];
  for (const t of targets) {
    const name = t.dialect.name;
    const f = await feed(hub, t);
    if (f.status !== 200) {
      problems.push(`${name}: feed status ${f.status}: all ${t.acknowledged.size} acknowledged batches lost`);
      continue;
    }
    const byBatch = new Map<string, number>();
    for (const item of f.items) {
      const b = t.dialect.batchOf(item);
      expect(b, `${name}: every item carries its batch`).to.be.a('string');
      byBatch.set(b!, (byBatch.get(b!) ?? 0) + 1);
    }
    const lost = [...t.acknowledged].filter((b) => !byBatch.has(b));
    const torn = [...byBatch].filter(([b, n]) => n !== t.sizes.get(b)).map(([b]) => b);
    if (lost.length > 0)
      problems.push(
        `${name}: ${lost.length} of ${t.acknowledged.size} acknowledged batches lost (${lost.slice(0, 3).join(' ')}…)`,
      );
    if (torn.length > 0)
      problems.push(`${name}: ${torn.length} batches torn (${torn.slice(0, 3).join(' ')}…)`);
    const d = (await call(`${hub.url}/datasets/${t.dataset}`, { token: t.readKey })).json as {
      lastSeq: number;
    };
    if (d.lastSeq !== f.items.length)
      problems.push(`${name}: lastSeq ${d.lastSeq} but ${f.items.length} changes (a gap)`);
    const after = await feed(hub, t, t.token);
    if (after.status !== 200 || after.fullSync || after.items.length !== f.items.length - t.itemsAtToken!) {
      problems.push(
        `${name}: the token of before the round gave status ${after.status}, full sync ${after.fullSync}, ` +
          `${after.items.length} changes instead of ${f.items.length - t.itemsAtToken!}`,
      );
    }
    checked += t.acknowledged.size;
  }
  if (problems.length > 0) throw new Error(`after the restart:\n  ${problems.join('\n  ')}`);
  return checked;
}

/** Adds per-protocol counts into a running total. */
export function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** Answers before any interruption must be 200, or 503/429 (overload): anything else is a bug. */
export function expectOnlyOverload(before: Record<string, number>): void {
  const other = Object.keys(before).filter((s) => !['200', '429', '503'].includes(s));
  expect(other, `answers before the interruption: ${JSON.stringify(before)}`).to.deep.equal([]);
}
