export interface SseEvent {
  readonly id?: string;
  readonly event?: string;
  readonly data: string;
}

/** Parses complete SSE events out of text; returns them and the unparsed rest. */
function parseEvents(text: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  let rest = text;
  let end: number;
  while ((end = rest.indexOf('\n\n')) >= 0) {
    const block = rest.slice(0, end);
    rest = rest.slice(end + 2);
    let id: string | undefined;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) events.push({ id, event, data: data.join('\n') });
  }
  return { events, rest };
}

/**
 * Connects to an event stream, runs `during` once connected, and resolves with the first `count`
 * message events (named events such as `context` are skipped). Fails after `timeoutMs`.
 */
export async function readSse(
  url: string,
  headers: Record<string, string>,
  count: number,
  during: () => Promise<void>,
  timeoutMs = 10_000,
): Promise<SseEvent[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(url, { headers, signal: ac.signal });
    if (res.status !== 200 || !res.body) throw new Error(`SSE ${url}: ${res.status}`);
    if (!String(res.headers.get('content-type')).startsWith('text/event-stream'))
      throw new Error('not an event stream');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const got: SseEvent[] = [];
    let buffer = '';
    let started = false;
    while (got.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const { events, rest } = parseEvents(buffer);
      buffer = rest;
      for (const e of events) {
        if (e.event === undefined || e.event === 'message') got.push(e);
      }
      if (!started) {
        started = true;
        await during();
      }
    }
    await reader.cancel().catch(() => undefined);
    return got.slice(0, count);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}
