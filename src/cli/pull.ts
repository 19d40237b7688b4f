import type { WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import type { Got } from 'got';
import { CliError, EXIT, fromHttpError, usageError } from './errors.js';
import { progress } from './progress.js';

export interface PullOptions {
  readonly dataset: string;
  readonly since?: string;
  readonly out?: string;
  readonly pageSize: number;
}

export interface PullSummary {
  readonly items: number;
  readonly pages: number;
  readonly token: string;
  /** the --since token was of an older epoch: the hub started over from the beginning */
  readonly fullSync: boolean;
}

/**
 * Pulls the changes feed page by page (NDJSON framing, `limit` per page), following the
 * continuation tokens, and writes the items as NDJSON. Each page is read whole before it is
 * written, so a page retried after a network failure is never written twice. The number of pages
 * is bounded by the changes the dataset had when the pull began; what arrives meanwhile is left to
 * the next pull, from the final token.
 */
export async function pull(http: Got, options: PullOptions): Promise<PullSummary> {
  const id = encodeURIComponent(options.dataset);
  let info: { lastSeq?: unknown };
  try {
    info = await http.get(`datasets/${id}`).json<{ lastSeq?: unknown }>();
  } catch (err) {
    throw fromHttpError(err, `dataset '${options.dataset}'`);
  }
  const lastSeq = typeof info.lastSeq === 'number' ? info.lastSeq : 0;
  const maxPages = Math.ceil(lastSeq / options.pageSize) + 1;

  const out: NodeJS.WritableStream | WriteStream = options.out ? await openOut(options.out) : process.stdout;
  const write = async (text: string): Promise<void> => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const bar = progress(`pull ${options.dataset}`, lastSeq, 'items');
  let token = options.since;
  let items = 0;
  let pages = 0;
  let fullSync = false;
  try {
    for (; pages < maxPages;) {
      const searchParams: Record<string, string> = { format: 'ndjson', limit: String(options.pageSize) };
      if (token !== undefined) searchParams.since = token;
      let res;
      try {
        res = await http.get(`datasets/${id}/changes`, { searchParams });
      } catch (err) {
        throw fromHttpError(err, `page ${pages + 1} of the changes feed`);
      }
      pages++;
      if (res.headers['icar-full-sync'] === 'true') fullSync = true;
      const lines = res.body.split('\n').filter((l) => l !== '');
      const cont = JSON.parse(lines[lines.length - 1] ?? '{}') as { id?: unknown; token?: unknown };
      if (cont.id !== '@continuation' || typeof cont.token !== 'string') {
        throw new CliError(EXIT.unexpected, 'the hub answered a feed without a continuation element');
      }
      const pageItems = lines.slice(1, -1);
      if (pageItems.length > 0) await write(pageItems.join('\n') + '\n');
      items += pageItems.length;
      token = cont.token;
      bar.update(items, items);
      if (pageItems.length < options.pageSize) break;
    }
  } finally {
    if (options.out) {
      out.end();
      await once(out, 'finish');
    }
  }
  bar.finish(items, items);
  return { items, pages, token: token ?? '', fullSync };
}

/** Opens --out before the first request, so a bad path is a usage error, not a crash mid-pull. */
async function openOut(path: string): Promise<WriteStream> {
  try {
    return (await open(path, 'w')).createWriteStream();
  } catch (err) {
    throw usageError(`cannot write '${path}': ${(err as Error).message}`);
  }
}
