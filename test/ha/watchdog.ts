import { appendFileSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { handle, loadState, WATCHDOG_LOG, watchdogPipe, type HaClusterState } from './cluster.js';

/**
 * A stand-in for each node's hardware watchdog (docs/ha-cluster.md, "The watchdog").
 *
 * Patroni's watchdog (`watchdog: mode: required`) is the documented protection against a primary
 * that freezes and wakes up later: the leader kicks the watchdog after every renewal of its leader
 * key, and a machine that stopped kicking is reset `ttl - safety_margin` seconds after the last
 * kick, before its key can expire and another node be promoted. Such a machine never comes back
 * believing it is still the leader (Patroni 3.0.2 would then overwrite the new leader's key).
 *
 * The test machines have no watchdog device (no softdog: the kernel has no modules), and a real one
 * would reset the whole shared machine. So each node's Patroni drives its watchdog through
 * Patroni's own test-harness driver (`driver: testing`, which Patroni's acceptance tests use): it
 * writes what it would send the device into a named pipe — `Ctimeout=N\n` when it arms the
 * watchdog, `1` per kick, `V` to disarm (the magic close). This process reads the pipes and, when
 * an armed watchdog is not kicked in time, does what the hardware does: it resets the node, here by
 * SIGKILL of its Patroni, postmaster and backends (test/ha/cluster.ts `killNode`). It runs outside
 * the nodes' processes, as the hardware does, so a frozen node cannot stop it.
 *
 *   node --import tsx test/ha/watchdog.ts DIR   (started by startHaCluster, recorded in cluster.json)
 */

interface Dog {
  armed: boolean;
  timeoutMs: number;
  lastKick: number;
}

const CHECK_MS = 100;

function main(dir: string): void {
  const state: HaClusterState = loadState(dir);
  const log = (node: string, event: string): void =>
    appendFileSync(join(dir, WATCHDOG_LOG), `${new Date().toISOString()} ${node} ${event}\n`);
  const dogs = new Map<string, Dog>();
  for (const n of state.nodes) {
    const dog: Dog = { armed: false, timeoutMs: 60_000, lastKick: 0 };
    dogs.set(n.name, dog);
    // read-write: opening a pipe so never blocks and never sees end-of-file when Patroni closes it
    const fd = openSync(watchdogPipe(n.dir), constants.O_RDWR | constants.O_NONBLOCK);
    const pipe = new Socket({ fd, readable: true, writable: false });
    pipe.setEncoding('latin1');
    pipe.on('data', (text: string) => {
      const timeout = /Ctimeout=(\d+)\n/.exec(text);
      if (timeout) dog.timeoutMs = Number(timeout[1]) * 1000;
      // anything written to a watchdog device is a kick; a V last disarms it
      const disarm = text.replace(/Ctimeout=\d+\n/g, '').endsWith('V');
      if (disarm) {
        if (dog.armed) log(n.name, 'disarmed');
        dog.armed = false;
        return;
      }
      if (!dog.armed) log(n.name, `armed, timeout ${dog.timeoutMs / 1000} s`);
      dog.armed = true;
      dog.lastKick = Date.now();
    });
  }
  log('-', `watching ${state.nodes.map((n) => n.name).join(', ')}`);
  setInterval(() => {
    for (const [name, dog] of dogs) {
      if (!dog.armed || Date.now() - dog.lastKick < dog.timeoutMs) continue;
      dog.armed = false;
      // the latest pids: Patroni may have been started again since this process began
      const cluster = handle(loadState(dir));
      const pids = [cluster.node(name).patroniPid, cluster.postmasterPid(name)];
      log(
        name,
        `expired ${Date.now() - dog.lastKick} ms after the last kick: reset (SIGKILL ${pids.join(' ')})`,
      );
      void cluster.killNode(name).then(() => log(name, 'reset done'));
    }
  }, CHECK_MS);
}

main(process.argv[2]!);
