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
