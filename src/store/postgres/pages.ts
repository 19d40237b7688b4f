/**
 * Streams a query's rows as keyset pages (`WHERE position > $after ORDER BY position LIMIT $n`):
 * each page is one short query on any pooled connection, so a slow reader holds no connection and
 * no transaction, and memory stays at one page. The page size follows the rows' size (about
 * PAGE_BYTES per page), so a feed of big documents does not load thousands of them at once.
 */
const PAGE_BYTES = 4 * 1024 * 1024;
const MIN_ROWS = 16;
const MAX_ROWS = 2_000;
const FIRST_ROWS = 256;

export interface PageSource<R, P> {
  /** fetches at most `n` rows after position `after`, in position order */
  fetch(after: P, n: number): Promise<R[]>;
  /** the position of a row, where the next page starts after */
  position(row: R): P;
  /** a row's approximate size in bytes */
  size(row: R): number;
}

export async function* keysetPages<R, P>(
  source: PageSource<R, P>,
  start: P,
  limit: number = Infinity,
): AsyncGenerator<R> {
  let after = start;
  let emitted = 0;
  let pageRows = FIRST_ROWS;
  while (emitted < limit) {
    const n = Math.min(pageRows, limit - emitted);
    const rows = await source.fetch(after, n);
    let bytes = 0;
    for (const r of rows) {
      bytes += source.size(r);
      yield r;
    }
    emitted += rows.length;
    if (rows.length < n) return;
    after = source.position(rows[rows.length - 1]!);
    const avg = Math.max(1, bytes / rows.length);
    pageRows = Math.max(MIN_ROWS, Math.min(MAX_ROWS, Math.floor(PAGE_BYTES / avg)));
  }
}
