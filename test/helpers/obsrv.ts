import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { call, type Reply } from './http.js';
import type { TestHub } from './hub.js';

export type ObsrvEvent = Record<string, unknown>;

/** An Obsrv ingest envelope (docs/obsrv.md#ingest) around one event or a batch. */
export function envelope<D extends ObsrvEvent | ObsrvEvent[]>(data: D, msgid: string = randomUUID()) {
  return { id: 'api.data.in', ver: 'v2', ts: String(Date.now()), params: { msgid }, data };
}

/** POST /v2/data/in/{id} with a bearer key. */
export function ingest(hub: TestHub, id: string, key: string, body: unknown): Promise<Reply> {
  return call(`${hub.url}/v2/data/in/${id}`, { token: key, body });
}

/** A realistic Obsrv telemetry event. */
export function telemetry(i: number, extra: ObsrvEvent = {}): ObsrvEvent {
  return {
    eid: 'INTERACT',
    mid: `m-${i}`,
    ets: 1668591949682 + i,
    date: '2022-01-01',
    actor: { id: `device-${i % 7}`, type: 'robot' },
    ...extra,
  };
}

export interface ObsrvErrorBody {
  id: string;
  ver: string;
  ts: string;
  params: { status: string; msgid?: string; resmsgid: string };
  responseCode: string;
  result: Record<string, unknown>;
  error: { code: string; message: string; trace: string; index?: number; pointer?: string };
}

/**
 * Sends a request and hangs up as soon as it is written, before any answer: a client whose timeout
 * fired while the hub was still storing. Resolves when the socket is closed.
 */
export function sendAndHangUp(
  url: string,
  key: string,
  body: unknown,
  /** resolves when the client should give up (e.g. once the hub has the data): a timeout after the send */
  giveUp: () => Promise<unknown> = async () => undefined,
): Promise<void> {
  const text = JSON.stringify(body);
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = httpRequest({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      method: 'POST',
      agent: false,
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      },
    });
    req.on('error', () => undefined);
    req.on('close', () => resolve());
    // the answer is never read: the client gives up and destroys the socket
    req.end(text, () => void giveUp().finally(() => req.destroy()));
  });
}

/** lastSeq and count of a dataset, as GET /datasets/{id} tells them. */
export async function figures(hub: TestHub, id: string): Promise<{ lastSeq: number; count: number }> {
  const r = await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken });
  if (r.status !== 200) throw new Error(`dataset ${id}: ${r.status} ${r.text}`);
  const { lastSeq, count } = r.json as { lastSeq: number; count: number };
  return { lastSeq, count };
}
