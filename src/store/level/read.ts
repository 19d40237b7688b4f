/** What readAhead needs of a LevelDB iterator. */
export interface BatchIterator<T> {
  nextv(size: number): Promise<T[]>;
  close(): Promise<void>;
}

/**
 * The batches of an iterator, asking for batch n+1 (read on libuv's pool) before handing batch n
 * to the caller, so that reading and the JavaScript consuming the entries overlap instead of taking
 * turns. `want()` tells how many more entries the caller can still use: no read-ahead when none.
 * Closes the iterator when the caller stops, early or not (close waits for a read in progress).
 */
export async function* readAhead<T>(
  it: BatchIterator<T>,
  size: number,
  want: () => number = () => Infinity,
): AsyncGenerator<T[]> {
  let next: Promise<T[]> | undefined = it.nextv(Math.max(1, Math.min(size, want())));
  try {
    while (next) {
      const batch: T[] = await next;
      next = undefined;
      if (batch.length === 0) return;
      const ahead = want() - batch.length;
      if (ahead > 0) next = it.nextv(Math.min(size, ahead));
      yield batch;
      // the caller skipped some entries (deleted keys) and still wants more than was read ahead
      const wanted = want();
      if (!next && wanted > 0) next = it.nextv(Math.min(size, wanted));
    }
  } finally {
    // a read-ahead nobody will use: its outcome does not matter, only that the iterator closes
    next?.catch(() => undefined);
    await it.close();
  }
}
