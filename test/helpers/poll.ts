import { call } from './http.js';
import type { TestHub } from './hub.js';

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  while (true) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
}

/**
 * `eventually` for checks that may throw or answer false while the state is not there yet (a
 * server not up, a request refused): the last error is in the timeout's message.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  let last: unknown;
  try {
    return await eventually(
      async () => {
        try {
          const v = await check();
          return v === false ? undefined : v;
        } catch (err) {
          last = err;
          return undefined;
        }
      },
      timeoutMs,
      what,
    );
  } catch (err) {
    throw last === undefined ? err : new Error(`${(err as Error).message}: ${String(last)}`);
  }
}

/** Waits `ms` on purpose: only to show that something does NOT happen (a second alert). */
export const quietPeriod = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until a Prometheus sample of the hub satisfies `ok`. `sample` is `name{labels}` as printed. */
export async function waitForMetric(
  hub: TestHub,
  sample: string,
  ok: (value: number) => boolean,
  timeoutMs = 10_000,
): Promise<number> {
  return eventually(
    async () => {
      const text = (await call(`${hub.url}/metrics`)).text;
      const line = text.split('\n').find((l) => l.startsWith(sample + ' '));
      const value = line === undefined ? 0 : Number(line.slice(sample.length + 1));
      return ok(value) ? value : undefined;
    },
    timeoutMs,
    sample,
  );
}
