import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { repairAndCheck } from '../store/level/check.js';
import { levelLocation } from '../store/open.js';
import { CliError, EXIT } from './errors.js';

/**
 * `hub repair`: the report goes to stdout as JSON, a one-line verdict to stderr. Exit 0 when the
 * directory is consistent afterwards, 5 when the changelog itself lost changes (gaps): the way
 * back is then `POST /datasets/{id}/recover` (from the receive journal) or `hub restore`.
 */
export async function repair(dataDir: string, checkOnly: boolean): Promise<number> {
  const location = levelLocation(resolve(dataDir));
  if (!existsSync(location)) throw new CliError(EXIT.usage, `no LevelDB database at ${location}`);
  let report;
  try {
    report = await repairAndCheck(location, { checkOnly });
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string }; message?: string };
    if (e.code === 'LEVEL_LOCKED' || e.cause?.code === 'LEVEL_LOCKED')
      throw new CliError(EXIT.refused, `${location} is in use by a running hub: stop it first`);
    throw new CliError(EXIT.damaged, `repair failed: ${e.message ?? String(err)}`);
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const gaps = report.datasets.filter((d) => d.gaps.count > 0).map((d) => d.name);
  const verdict = gaps.length
    ? `changelog gaps in ${gaps.join(', ')}: recover them (POST /datasets/{id}/recover) or restore a backup`
    : report.fixed
      ? 'indexes rewritten from the changelog; the directory is consistent'
      : checkOnly && !report.consistent
        ? 'inconsistent: run without --check-only to fix'
        : 'consistent';
  process.stderr.write(`hub repair: ${verdict}\n`);
  return gaps.length || (checkOnly && !report.consistent) ? EXIT.damaged : EXIT.ok;
}
