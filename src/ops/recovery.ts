import { hubError, isHubError } from '../errors.js';
import { configOf, recoveryEnabled } from '../domain/config.js';
import type { Hub } from '../domain/hub.js';
import { checkSubjects, type Envelope, type Translator } from '../domain/ingest.js';
import type { AppendRequest, JournalEntry } from '../store/types.js';

/** What a recovery did, as POST /datasets/{id}/recover answers it. */
export interface RecoveryReport {
  /** journal entries applied to the new epoch */
  readonly replayed: number;
  /** entries the current config rejects (or that cannot be read); they are left out */
  readonly skipped: number;
  /** the first few reasons for skipping, with the entry's position in the journal */
  readonly skippedReasons: ReadonlyArray<{ readonly entry: number; readonly message: string }>;
  /** changes written to the new epoch */
  readonly changes: number;
  /** false when the journal was empty: the dataset was left as it was */
  readonly rebuilt: boolean;
  readonly count: number;
  readonly lastSeq: number;
}

const MAX_REASONS = 10;

function parseEnvelope(entry: JournalEntry): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(entry.text);
  } catch {
    throw hubError('JOURNAL_ENTRY_UNREADABLE', 'the journal entry is not JSON');
  }
  const e = value as Partial<Envelope> | null;
  if (e === null || typeof e !== 'object' || typeof e.protocol !== 'string' || e.body === undefined) {
    throw hubError('JOURNAL_ENTRY_UNREADABLE', 'the journal entry is not a request envelope');
  }
  return e as Envelope;
}

/**
 * ODS "recover data": rebuilds the dataset's current state by replaying its receive journal through
 * the CURRENT config (unique keys, schema, dedup key…), as a new epoch so that every reader holding
 * an old token is told to resync. Each entry goes through its protocol's translator in replay mode
 * and the dataset schema, exactly like a live request; an entry the current config rejects is
 * skipped and counted rather than failing the whole recovery. Anything else (a store failure, a
 * bug) aborts it and leaves the old epoch untouched.
 *
 * An empty journal leaves the dataset as it is (docs/operations.md#recovery): a rebuild from nothing would
 * erase it.
 */
export async function recoverDataset(hub: Hub, name: string): Promise<RecoveryReport> {
  const dataset = await hub.datasets.require(name);
  const config = configOf(dataset);
  if (!recoveryEnabled(config)) {
    throw hubError(
      'RECOVERY_DISABLED',
      'recovery is off for this dataset ("recovery": false): its receive log is not complete',
    );
  }
  let empty = true;
  for await (const _ of hub.store.journal(name)) {
    empty = false;
    break;
  }
  if (empty) {
    return {
      replayed: 0,
      skipped: 0,
      skippedReasons: [],
      changes: 0,
      rebuilt: false,
      count: dataset.count,
      lastSeq: dataset.lastSeq,
    };
  }

  let replayed = 0;
  let skipped = 0;
  const skippedReasons: Array<{ entry: number; message: string }> = [];
  const skip = (entry: number, message: string): void => {
    skipped++;
    if (skippedReasons.length < MAX_REASONS) skippedReasons.push({ entry, message });
  };

  // consumed inside the store's rebuild, while writes to the dataset wait: the journal cannot grow
  async function* requests(): AsyncGenerator<AppendRequest> {
    for await (const entry of hub.store.journal(name)) {
      let envelope: Envelope;
      try {
        envelope = parseEnvelope(entry);
      } catch (err) {
        skip(entry.n, (err as Error).message);
        continue;
      }
      let translate: Translator;
      try {
        translate = hub.ingestor.translator(envelope.protocol);
      } catch {
        // leaving a whole protocol's data out would not be a recovery: refuse, keep the old epoch
        throw hubError(
          'RECOVERY_UNSUPPORTED',
          `the receive log holds requests of protocol '${envelope.protocol}', which this hub cannot replay`,
        );
      }
      try {
        const t = await translate({ envelope, dataset, config, mode: 'replay', now: entry.recorded });
        checkSubjects(config, t.subjects);
        const { received: _received, subjects: _subjects, ...append } = t;
        replayed++;
        yield { ...append, recorded: entry.recorded };
      } catch (err) {
        // a request the current config refuses (4xx) is left out; anything else is a real failure
        if (isHubError(err) && err.status < 500) skip(entry.n, err.message);
        else throw err;
      }
    }
  }

  const result = await hub.store.rebuild(name, requests());
  const after = await hub.datasets.require(name);
  return {
    replayed,
    skipped,
    skippedReasons,
    changes: result.changes,
    rebuilt: true,
    count: after.count,
    lastSeq: after.lastSeq,
  };
}

/** DELETE /datasets/{id}/recovery: drops the receive log; pushes after it start a new one. */
export async function scratchRecovery(hub: Hub, name: string): Promise<void> {
  await hub.datasets.require(name);
  await hub.store.clearJournal(name);
}
