/**
 * `npm run bench:backup`: backup and restore rates on a changelog of 1,000,000 changes (`--quick`:
 * 100,000), and the backup's size against the data directory's. LevelDB, and PostgreSQL on
 * BENCH_STORE_URL when it is reachable (the LevelDB backup restored into it, then backed up
 * from it). Store level, no HTTP: what `hub backup --data-dir` / `hub restore` do.
 *
 * Not part of `npm run bench`: filling 1,000,000 changes alone takes about a minute.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restoreRecords, verifyBackup, writeBackup } from '../src/domain/backup.js';
import { LevelStore } from '../src/store/level/engine.js';
import { PgStore } from '../src/store/postgres/engine.js';
import type { Store, Write } from '../src/store/types.js';
import { benchSchema, unreachable } from './lib/pg.js';

const quick = process.argv.includes('--quick');
const CHANGES = quick ? 100_000 : 1_000_000;
const BATCH = 10_000;
const DATASETS = 4;

/** A milking-visit-like document of about 600 bytes; one change in five rewrites an earlier key. */
function doc(i: number): string {
  return JSON.stringify({
    resourceType: 'icarMilkingVisitEventResource',
    id: `mv-${i}`,
    animal: { id: `5280000${String(i % 1000).padStart(8, '0')}`, scheme: 'eu.animalId' },
    eventDateTime: new Date(1_714_000_000_000 + i * 60_000).toISOString(),
    milkingDuration: { unitCode: 'SEC', value: 300 + (i % 200) },
    milkingType: 'Automated',
    quarterMilkings: ['LF', 'RF', 'LR', 'RR'].map((q, n) => ({
      xLocation: q,
      milkYield: { unitCode: 'KGM', value: 2 + ((i * (n + 3)) % 50) / 10 },
      conductivity: { unitCode: 'mS', value: 40 + (i % 30) },
    })),
    meta: { source: 'com.example.robot', modified: new Date(1_714_000_000_000 + i * 1000).toISOString() },
  });
}

function du(path: string): number {
  return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en')}/s`;

async function fill(store: Store): Promise<void> {
  const perDataset = CHANGES / DATASETS;
  for (let d = 0; d < DATASETS; d++) {
    const name = `bench-${d}`;
    await store.putDataset(name, () => ({
      config: { title: name },
      keyHashes: { push: `p${d}`, read: `r${d}` },
    }));
    for (let start = 0; start < perDataset; start += BATCH) {
      const writes: Write[] = [];
      for (let i = start; i < Math.min(perDataset, start + BATCH); i++) {
        const key = i % 5 === 4 ? `mv-${i - 4}` : `mv-${i}`;
        const text = doc(i);
        writes.push({
          key,
          kind: 'resource',
          deleted: false,
          doc: text,
          hash: createHash('sha1').update(text).digest('base64url'),
        });
      }
      await store.append(name, { writes, journal: JSON.stringify({ batch: start }) });
    }
  }
}

async function backup(store: Store, file: string, label: string): Promise<void> {
  const t0 = Date.now();
  const s = await writeBackup(store, createWriteStream(file));
  const ms = Date.now() - t0;
  console.log(
    `${label} backup:  ${s.changes.toLocaleString('en')} changes in ${(ms / 1000).toFixed(1)} s = ${rate(s.changes, ms)} changes, ` +
      `${mb(statSync(file).size)} file`,
  );
}

async function restore(store: Store, file: string, label: string): Promise<void> {
  const t0 = Date.now();
  await verifyBackup(file);
  const verified = Date.now() - t0;
  const s = await store.importAll(restoreRecords(file));
  const ms = Date.now() - t0;
  console.log(
    `${label} restore: ${s.changes.toLocaleString('en')} changes in ${(ms / 1000).toFixed(1)} s = ${rate(s.changes, ms)} changes ` +
      `(checksum pass ${(verified / 1000).toFixed(1)} s)`,
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-backup-'));
  try {
    const source = join(dir, 'source');
    let store: Store = await LevelStore.open(source);
    const t0 = Date.now();
    await fill(store);
    console.log(
      `filled ${CHANGES.toLocaleString('en')} changes over ${DATASETS} datasets in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    // closed and opened again: the directory as a hub leaves it (memtable flushed, compacted)
    await store.close();
    store = await LevelStore.open(source);
    const file = join(dir, 'backup.ndjson.gz');
    await backup(store, file, 'LevelDB   ');
    await store.close();
    console.log(
      `data directory ${mb(du(source))}, backup ${mb(statSync(file).size)} (${((statSync(file).size / du(source)) * 100).toFixed(0)} %)`,
    );

    const target = await LevelStore.open(join(dir, 'target'));
    await restore(target, file, 'LevelDB   ');
    await target.close();
    console.log(`restored data directory ${mb(du(join(dir, 'target')))}`);

    const why = await unreachable();
    if (why) {
      console.log(`PostgreSQL skipped: ${why}`);
      return;
    }
    const schema = benchSchema('backup');
    try {
      const pgStore = await PgStore.open(schema.url);
      try {
        await restore(pgStore, file, 'PostgreSQL');
        await backup(pgStore, join(dir, 'pg.ndjson.gz'), 'PostgreSQL');
      } finally {
        await pgStore.close();
      }
    } finally {
      await schema.drop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
