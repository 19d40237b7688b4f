import { hubError } from '../errors.js';
import type { Change, DatasetRecord, Store } from '../store/types.js';
import { restoredEpochs } from './backup.js';
import { decodeKeyToken, decodeSeqToken, encodeKeyToken, encodeSeqToken } from './tokens.js';

/**
 * Reading a dataset's changelog with continuation tokens (docs/datasets.md#the-changelog, docs/icar.md#pull).
 * A token names an epoch and a position; a token of an older epoch restarts the reader from the beginning
 * (full sync), a token the hub never issued is a 400.
 */
export interface ChangesOptions {
  readonly since?: string;
  readonly limit?: number;
  readonly latestOnly?: boolean;
  /**
   * Only the changes this admits are items (a scoped key's, domain/keys.ts): the limit counts
   * items, and the position still moves past every change read, so a token never re-reads them.
   */
  readonly filter?: (c: Change) => boolean;
  /** newest first: the token of a page gives the next older page */
  readonly reverse?: boolean;
}

export class ChangesReader {
  private lastSeen = 0;
  private emitted = 0;

  constructor(
    private readonly store: Store,
    private readonly secret: string,
    readonly dataset: DatasetRecord,
    /** the token was of an older epoch: the reader starts over */
    readonly fullSync: boolean,
    readonly afterSeq: number,
    private readonly options: ChangesOptions,
  ) {
    this.lastSeen = afterSeq;
  }

  async *items(): AsyncGenerator<Change> {
    const { filter, limit } = this.options;
    if (filter && limit === 0) return;
    const reverse = this.options.reverse === true;
    for await (const c of this.store.changes(this.dataset.name, {
      epoch: this.dataset.epoch,
      // reversed, the token's position is the exclusive upper bound
      ...(reverse ? { afterSeq: 0, beforeSeq: this.afterSeq, reverse } : { afterSeq: this.afterSeq }),
      limit: filter ? undefined : limit,
      latestOnly: this.options.latestOnly,
      // the token will promise everything up to the head read: a replica must have it all
      atLeast: this.dataset.lastSeq,
    })) {
      this.lastSeen = c.seq;
      if (filter && !filter(c)) continue;
      this.emitted++;
      yield c;
      if (limit !== undefined && this.emitted >= limit) return;
    }
  }

  /**
   * The position (and token) to continue from, once items() is exhausted: after the last item when the limit cut
   * the page, else after everything that was committed when the read began (so that skipped
   * latestOnly entries are not scanned again).
   */
  position(): number {
    const limited = this.options.limit !== undefined && this.emitted >= this.options.limit;
    // reversed: before the oldest item of the page, or, when the feed is exhausted, before the first change
    if (this.options.reverse) return limited ? this.lastSeen : 0;
    return limited ? this.lastSeen : Math.max(this.lastSeen, this.dataset.lastSeq);
  }

  token(): string {
    return encodeSeqToken(this.secret, this.dataset.name, {
      epoch: this.dataset.epoch,
      seq: this.position(),
    });
  }
}

/**
 * A token of an epoch this dataset was restored from (domain/backup.ts) is as good as one of its
 * own epoch if it points at or before the backup's last change: those changes were restored with
 * their sequences. Key tokens (current state) only need the epoch.
 */
function continuesAfterRestore(dataset: DatasetRecord, epoch: string, seq?: number): boolean {
  return restoredEpochs(dataset.attrs).some(
    (e) => e.epoch === epoch && (seq === undefined || seq <= e.lastSeq),
  );
}

export function openChanges(
  store: Store,
  secret: string,
  dataset: DatasetRecord,
  options: ChangesOptions,
): ChangesReader {
  // reversed, the position is an exclusive upper bound: the head, or where the previous page ended
  const head = options.reverse ? dataset.lastSeq + 1 : 0;
  let afterSeq = head;
  let fullSync = false;
  if (options.since !== undefined && options.since !== '') {
    const pos = decodeSeqToken(secret, dataset.name, options.since);
    if (pos.epoch !== dataset.epoch && !continuesAfterRestore(dataset, pos.epoch, pos.seq)) {
      fullSync = true;
    } else if (pos.seq > head && pos.seq > dataset.lastSeq) {
      throw hubError('INVALID_TOKEN', 'the continuation token is beyond the last change of this dataset');
    } else {
      afterSeq = pos.seq;
    }
  }
  return new ChangesReader(store, secret, dataset, fullSync, afterSeq, options);
}

export interface CurrentOptions {
  readonly from?: string;
  readonly limit?: number;
  /** only the keys whose latest change this admits (as ChangesOptions.filter) */
  readonly filter?: (c: Change) => boolean;
  /** descending key order: the `from` token of a page gives the next page down */
  readonly reverse?: boolean;
}

/** Current state (live keys) in key order, paged with `from` tokens. */
export class CurrentReader {
  private lastKey: string | undefined;
  private emitted = 0;

  constructor(
    private readonly store: Store,
    private readonly secret: string,
    readonly dataset: DatasetRecord,
    readonly fullSync: boolean,
    private readonly afterKey: string | undefined,
    private readonly limit: number | undefined,
    private readonly reverse = false,
    private readonly filter?: (c: Change) => boolean,
  ) {
    this.lastKey = afterKey;
  }

  async *items(): AsyncGenerator<Change> {
    const { filter, limit } = this;
    if (filter && limit === 0) return;
    for await (const c of this.store.current(this.dataset.name, {
      epoch: this.dataset.epoch,
      // reversed, the token's key is the exclusive upper bound
      ...(this.reverse ? { beforeKey: this.afterKey, reverse: true } : { afterKey: this.afterKey }),
      limit: filter ? undefined : limit,
      atLeast: this.dataset.lastSeq,
    })) {
      this.lastKey = c.key;
      if (filter && !filter(c)) continue;
      this.emitted++;
      yield c;
      if (limit !== undefined && this.emitted >= limit) return;
    }
  }

  /** Is there possibly more after this page? */
  get more(): boolean {
    return this.limit !== undefined && this.emitted >= this.limit;
  }

  /** `from` token of the next page (an exhausted listing gives a token whose page is empty). */
  token(): string {
    return encodeKeyToken(this.secret, this.dataset.name, {
      epoch: this.dataset.epoch,
      key: this.lastKey ?? '',
    });
  }

  /** A changes token as of the start of the listing: follow /changes from there after a full read. */
  changesToken(): string {
    return encodeSeqToken(this.secret, this.dataset.name, {
      epoch: this.dataset.epoch,
      seq: this.dataset.lastSeq,
    });
  }
}

export function openCurrent(
  store: Store,
  secret: string,
  dataset: DatasetRecord,
  options: CurrentOptions,
): CurrentReader {
  let afterKey: string | undefined;
  let fullSync = false;
  if (options.from !== undefined && options.from !== '') {
    const pos = decodeKeyToken(secret, dataset.name, options.from);
    if (pos.epoch !== dataset.epoch && !continuesAfterRestore(dataset, pos.epoch)) fullSync = true;
    else afterKey = pos.key === '' ? undefined : pos.key;
  }
  return new CurrentReader(
    store,
    secret,
    dataset,
    fullSync,
    afterKey,
    options.limit,
    options.reverse,
    options.filter,
  );
}

/**
 * Resolves true as soon as the dataset has a change after `afterSeq` (or moved to another epoch),
 * false after `timeoutMs` or when `signal` aborts (the client went away).
 */
export function waitForChange(
  store: Store,
  dataset: DatasetRecord,
  afterSeq: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let done = false;
    const finish = (value: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const onAbort = (): void => finish(false);
    const unsubscribe = store.subscribe((n) => {
      if (n.dataset === dataset.name && (n.epoch !== dataset.epoch || n.lastSeq > afterSeq)) finish(true);
    });
    const timer = setTimeout(() => finish(false), Math.max(0, timeoutMs));
    signal?.addEventListener('abort', onAbort, { once: true });
    // a commit may have landed between the caller's read of the record and the subscription
    void store.getDataset(dataset.name).then(
      (now) => {
        if (!now || now.epoch !== dataset.epoch || now.lastSeq > afterSeq) finish(true);
      },
      // the store is away: wait on (a notice after its return, or the timeout)
      () => undefined,
    );
    if (signal?.aborted) finish(false);
  });
}
