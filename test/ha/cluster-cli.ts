import { handle, loadState, startHaCluster, stopHaCluster } from './cluster.js';

/**
 * The test HA cluster by hand (docs/ha-cluster.md):
 *
 *   npx tsx test/ha/cluster-cli.ts up            # prints the directory and the STORE_URLs
 *   npx tsx test/ha/cluster-cli.ts status DIR    # Patroni's view of the members
 *   npx tsx test/ha/cluster-cli.ts down DIR      # stops what `up` started, by pid; removes DIR
 */
async function main(argv: string[]): Promise<void> {
  const [verb, dir] = argv;
  if (verb === 'up') {
    const started = Date.now();
    const cluster = await startHaCluster();
    const { leader, sync } = await cluster.waitHealthy();
    const out = {
      dir: cluster.dir,
      startedInMs: Date.now() - started,
      leader,
      sync,
      haproxy: `127.0.0.1:${cluster.state.haproxyPort}`,
      storeUrl: cluster.url,
      multiHostStoreUrl: cluster.multiHostUrl,
      nodes: cluster.state.nodes.map((n) => ({
        name: n.name,
        postgres: `127.0.0.1:${n.pgPort}`,
        patroniRest: `http://127.0.0.1:${n.restPort}`,
        config: n.configFile,
        log: `${n.dir}/patroni.log`,
      })),
      etcd: cluster.state.etcd.map((e) => `http://127.0.0.1:${e.clientPort}`).join(','),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  if ((verb === 'down' || verb === 'status') && dir) {
    if (verb === 'down') await stopHaCluster(dir);
    else process.stdout.write(JSON.stringify(await handle(loadState(dir)).members(), null, 2) + '\n');
    return;
  }
  process.stderr.write('usage: cluster-cli.ts up | status DIR | down DIR\n');
  process.exitCode = 2;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
