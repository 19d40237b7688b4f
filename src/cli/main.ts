import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { client, connection } from './client.js';
import { CliError, EXIT, fromHttpError, usageError } from './errors.js';
import { pull } from './pull.js';
import { MAX_BATCH_BYTES, push, type PushRoute } from './push.js';
import { openSource } from './source.js';
import { backupFromHub, maintenance } from './backup.js';
import { addSchemas } from './schemas.js';

/**
 * `hub`: run the hub, push files to it, pull changes from it, list datasets. Progress goes to
 * stderr, results to stdout; the exit codes are listed in errors.ts and in `hub --help`.
 */
function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const EXIT_HELP = `
Exit codes: 0 ok, 1 unexpected failure, 2 usage or input error, 3 refused by the hub (4xx),
4 hub unreachable or failing (network, timeout, 5xx) after retries, 5 damaged data directory
(serve could not open it; repair found changelog gaps it cannot fix).

Environment: HUB_URL (default http://127.0.0.1:3000) and HUB_KEY stand in for --url and --key.`;

interface Globals {
  url?: string;
  key?: string;
}

export function program(): Command {
  const cli = new Command()
    .name('hub')
    .description('Dataset sync hub: serve, push files, pull changes, list datasets')
    .option('--url <url>', 'the hub base URL (env HUB_URL)')
    .option('--key <key>', 'a dataset key or the admin token (env HUB_KEY)')
    .addHelpText('after', EXIT_HELP)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  cli
    .command('serve')
    .description('run the hub (PORT, HOST, DATA_DIR, HUB_ADMIN_TOKEN… from the environment)')
    .option('--port <port>', 'listen port (env PORT, default 3000)')
    .option('--host <host>', 'listen address (env HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'data directory (env DATA_DIR, default ./data)')
    .action(async (opts: { port?: string; host?: string; dataDir?: string }) => {
      if (opts.port !== undefined) process.env.PORT = opts.port;
      if (opts.host !== undefined) process.env.HOST = opts.host;
      if (opts.dataDir !== undefined) process.env.DATA_DIR = opts.dataDir;
      await import('../main.js');
    });

  cli
    .command('push')
    .description(
      'push a JSON array, NDJSON or CSV file in batches under 5 MB. The route follows the content: ICAR ' +
        'resources (resourceType + meta) go to /datasets/{id}/resources, UDA entities (id + props/refs) to ' +
        '/datasets/{id}/entities, anything else (and every CSV) as records to the ODS push route',
    )
    .argument('<dataset>', 'dataset id')
    .argument('<file>', 'file.json (array), file.ndjson / .jsonl, or file.csv (header row)')
    .addOption(
      new Option('--format <format>', 'file format (default: from the extension or content)').choices([
        'json',
        'ndjson',
        'csv',
      ]),
    )
    .addOption(
      new Option('--route <route>', 'force the route (default: from the content)').choices([
        'icar',
        'uda',
        'ods',
      ]),
    )
    .option('--batch-size <n>', 'items per request at most', positiveInt, 10_000)
    .option('--batch-bytes <n>', 'request body bytes at most', positiveInt, MAX_BATCH_BYTES)
    .action(
      async (
        dataset: string,
        file: string,
        opts: { format?: string; route?: PushRoute; batchSize: number; batchBytes: number },
      ) => {
        const http = client(connection(cli.opts<Globals>()));
        const source = await openSource(file, opts.format);
        const s = await push(http, source, {
          dataset,
          route: opts.route,
          batchSize: opts.batchSize,
          batchBytes: opts.batchBytes,
        });
        process.stdout.write(
          `pushed ${s.items} items to ${dataset} (${s.route}) in ${s.batches} batches${s.changes !== null ? `, ${s.changes} changes` : ''}\n`,
        );
      },
    );

  cli
    .command('pull')
    .description(
      'pull the changes feed as NDJSON items, following continuation tokens; prints the final token',
    )
    .argument('<dataset>', 'dataset id')
    .option('--since <token>', 'continue after this token (from an earlier pull)')
    .option(
      '--out <file>',
      'write the items here (the final token then goes to stdout); default stdout (token on stderr)',
    )
    .option('--page-size <n>', 'items per request', positiveInt, 5_000)
    .action(async (dataset: string, opts: { since?: string; out?: string; pageSize: number }) => {
      const http = client(connection(cli.opts<Globals>()));
      const s = await pull(http, { dataset, since: opts.since, out: opts.out, pageSize: opts.pageSize });
      if (s.fullSync) process.stderr.write('hub: the token was of an older epoch: this is a full resync\n');
      if (opts.out) process.stdout.write(`${s.token}\n`);
      else process.stderr.write(`token: ${s.token}\n`);
    });

  cli
    .command('datasets')
    .description('list the datasets the key may read (all of them with the admin token)')
    .option('--json', 'print the hub answer as JSON')
    .action(async (opts: { json?: boolean }) => {
      const http = client(connection(cli.opts<Globals>()));
      let list: Array<{ name: string; url: string; containedTypes?: string[] }>;
      try {
        list = await http.get('datasets').json();
      } catch (err) {
        throw fromHttpError(err, 'listing datasets');
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else for (const d of list) process.stdout.write(`${d.name}\t${d.url}\n`);
    });

  const schemas = cli.command('schemas').description("manage a dataset's schema set (admin token)");
  schemas
    .command('add')
    .description(
      "add JSON schema files to the dataset's schema set: a directory (every *.json under it, named by " +
        'their path relative to it, so relative $refs resolve) or single files; the hub refuses a set that ' +
        'does not compile, keeping the one before',
    )
    .argument('<dataset>', 'dataset id')
    .argument('<paths...>', 'a directory of schemas or schema files')
    .option('--type <type=path...>', 'map a resourceType to a file (default: the file named after the type)')
    .action(async (dataset: string, paths: string[], opts: { type?: string[] }) => {
      const types: Record<string, string> = {};
      for (const t of opts.type ?? []) {
        const eq = t.indexOf('=');
        if (eq < 1) throw usageError(`--type must be <resourceType>=<path>, got '${t}'`);
        types[t.slice(0, eq)] = t.slice(eq + 1);
      }
      const set = await addSchemas(client(connection(cli.opts<Globals>())), dataset, paths, types);
      process.stdout.write(
        `schema set of ${dataset}: version ${set.version}, ${set.files.length} files, ${Object.keys(set.types).length} types\n`,
      );
    });

  cli
    .command('backup')
    .description(
      'write a consistent snapshot of the hub (every dataset, changelog, state, key hashes, configs, ' +
        'files, journals; gzip NDJSON with a checksum) to FILE while pushes go on: through the running ' +
        'hub (--url, --key <admin token>), or straight from a store no hub holds (--data-dir, --store-url)',
    )
    .requiredOption('--out <file>', 'the backup file to write (mode 0600: it holds the token secret)')
    .option('--data-dir <dir>', 'read this stopped LevelDB hub directory instead of asking a hub')
    .option('--store-url <url>', 'read this PostgreSQL store directly instead of asking a hub')
    .action(async (opts: { out: string; dataDir?: string; storeUrl?: string }) => {
      const s =
        opts.dataDir !== undefined || opts.storeUrl !== undefined
          ? await maintenance((m) => m.backupFromStore(opts, opts.out))
          : await backupFromHub(client(connection(cli.opts<Globals>())), opts.out);
      process.stdout.write(
        `backup ${opts.out}: ${s.datasets} datasets, ${s.changes} changes, ${s.records} records, sha256 ${s.sha256}\n`,
      );
    });

  cli
    .command('restore')
    .description(
      'build a data directory (LevelDB) or an empty PostgreSQL schema (--store-url) from a backup; ' +
        'tokens issued before the backup keep working on the restored hub',
    )
    .requiredOption('--from <file>', 'the backup file (from hub backup)')
    .option('--data-dir <dir>', 'the data directory to create (env DATA_DIR, default ./data)')
    .option('--store-url <url>', 'restore into this PostgreSQL store (env STORE_URL) instead of LevelDB')
    .action(async (opts: { from: string; dataDir?: string; storeUrl?: string }) => {
      const where = {
        dataDir: opts.dataDir ?? process.env.DATA_DIR,
        storeUrl: opts.storeUrl ?? (process.env.STORE_URL || undefined),
      };
      const s = await maintenance((m) => m.restore(opts.from, where));
      process.stdout.write(`restored ${s.datasets} datasets, ${s.changes} changes from ${opts.from}\n`);
    });

  cli
    .command('repair')
    .description(
      "repair a stopped hub's LevelDB data directory: LevelDB's repair, then a check of the changelog " +
        'against its indexes (current state, heads) that rewrites them from the changelog; prints the report as JSON',
    )
    .option('--data-dir <dir>', 'the data directory (env DATA_DIR, default ./data)')
    .option('--check-only', 'only check and report; change nothing')
    .action(async (opts: { dataDir?: string; checkOnly?: boolean }) => {
      const dir = opts.dataDir ?? process.env.DATA_DIR ?? './data';
      const verdict = await maintenance((m) => m.repair(dir, opts.checkOnly === true));
      if (verdict !== 'ok')
        throw new CliError(EXIT.damaged, 'the data directory is not consistent: see the report');
    });

  return cli;
}

export async function run(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are not failures; commander has already printed its message
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const e = err instanceof CliError ? err : fromHttpError(err, 'failed');
    process.stderr.write(`hub: error: ${e.message}\n`);
    return e.exitCode;
  }
}

// `hub pull x | head`: the reader went away; that is not a failure of the command
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
  throw err;
});
process.exitCode = await run(process.argv);
