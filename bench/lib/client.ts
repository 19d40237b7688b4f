import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/**
 * A minimal HTTP client over node:http with keep-alive, for the benchmark's clients: no fetch
 * machinery (streams, Headers objects, WHATWG bodies) between the measurement and the socket, so
 * the client spends as little of the machine's two cores as possible.
 */
export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

/** One keep-alive agent per benchmark client group: `sockets` connections at most. */
export function keepAliveAgent(sockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
}

export function send(agent: Agent, url: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) {
      headers['content-length'] = String(Buffer.byteLength(options.body));
      headers['content-type'] ??= 'application/json';
    }
    const req = httpRequest(url, { agent, method: options.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Like send, but fails on any status other than `expect`. */
export async function sendOk(
  agent: Agent,
  url: string,
  options: RequestOptions = {},
  expect = [200],
): Promise<Reply> {
  const r = await send(agent, url, options);
  if (!expect.includes(r.status)) {
    throw new Error(
      `${options.method ?? 'GET'} ${redact(url)} → ${r.status}: ${r.body.toString('utf8', 0, 500)}`,
    );
  }
  return r;
}

export interface StreamStats {
  readonly status: number;
  readonly bytes: number;
  /** occurrences of the marker in the body (counted across chunk boundaries) */
  readonly marks: number;
  /** the body's last bytes (for the continuation element) */
  readonly tail: string;
}

/**
 * Reads a (possibly huge) response without keeping it: counts bytes and occurrences of `marker`
 * (one per item), keeps the last bytes. Memory stays flat on the client too, and no chunk is
 * copied: the client takes as little CPU from the server as it can.
 */
export function stream(
  agent: Agent,
  url: string,
  marker: string,
  headers: Record<string, string> = {},
): Promise<StreamStats> {
  const needle = Buffer.from(marker);
  const overlap = needle.length - 1;
  return new Promise<StreamStats>((resolve, reject) => {
    const req = httpRequest(url, { agent, headers }, (res) => {
      let bytes = 0;
      let marks = 0;
      // the end of the previous chunk: a marker cut by the chunk boundary is completed by the next
      // chunk (markers never overlap themselves, so these bytes never hold a counted one)
      let carry: Buffer = Buffer.alloc(0);
      let tail: Buffer = Buffer.alloc(0);
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (carry.length > 0 && Buffer.concat([carry, chunk.subarray(0, overlap)]).includes(needle)) marks++;
        for (let at = chunk.indexOf(needle); at >= 0; at = chunk.indexOf(needle, at + needle.length)) marks++;
        carry = Buffer.concat([carry, chunk.subarray(-overlap)]).subarray(-overlap);
        tail = chunk.length >= 512 ? chunk : Buffer.concat([tail, chunk]).subarray(-512);
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, bytes, marks, tail: tail.subarray(-512).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Keys in query strings stay out of error messages. */
export function redact(url: string): string {
  return url.replace(/([?&](?:apikey|pushkey)=)[^&]*/gi, '$1***');
}
