import { execFile, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childrenOf, freePort, pgBinDir } from '../helpers/pg-server.js';

/**
 * A highly available PostgreSQL of the tests' own, as production runs it (docs/ha-cluster.md): a
 * 3-member etcd (v3 API), 3 Patroni nodes over PostgreSQL with synchronous_mode and
 * synchronous_mode_strict, and HAProxy sending connections to the node whose Patroni answers 200
 * to `GET /primary`. Loopback only, free ports picked at run time, everything in one temp
 * directory. Every process it starts is recorded by pid in `cluster.json` there, so `down` (in
 * this process or in another, see cluster-cli.ts) stops exactly those and nothing else.
 *
 * Administration goes through `psql` and Patroni's REST API, not a Node driver, so the cluster
 * does not depend on which driver the hub's engine uses.
 */

/** Timings in the DCS: a leader that stops renewing loses its key after `ttl` s (docs/ha-cluster.md). */
export const PATRONI_TIMING = { ttl: 10, loop_wait: 1, retry_timeout: 4 } as const;
/**
 * The leader's watchdog resets its machine `ttl - safety_margin` s after the last kick (5 s), before
 * the key can expire: Patroni's default margin, which also covers a key renewal that took up to
 * `retry_timeout` (4 s) before its kick.
 */
export const WATCHDOG_SAFETY_MARGIN = 5;

/** the pipe a node's Patroni writes its watchdog device's traffic into (test/ha/watchdog.ts) */
export const watchdogPipe = (nodeDir: string): string => join(nodeDir, 'watchdog');
/** the watchdog stand-in's log, in the cluster's directory: `<ISO time> <node> <event>` lines */
export const WATCHDOG_LOG = 'watchdog.log';
const WATCHDOG_SCRIPT = fileURLToPath(new URL('./watchdog.ts', import.meta.url));

export const HA_USER = 'hub_test';
export const HA_DATABASE = 'hub_test';
const SCOPE = 'hub-ha';

export interface HaNodeState {
  readonly name: string;
  readonly pgPort: number;
  readonly restPort: number;
  readonly dir: string;
  readonly dataDir: string;
  readonly configFile: string;
  /** Patroni's pid (its latest start) */
  patroniPid: number;
  /** every postmaster pid seen on this node: Patroni starts them detached, so they are not our children */
  postmasterPids: number[];
}

export interface HaClusterState {
  readonly dir: string;
  readonly etcd: { name: string; clientPort: number; peerPort: number; pid: number }[];
  readonly nodes: HaNodeState[];
  readonly haproxyPort: number;
  haproxyPid: number;
  /** the watchdog stand-in (test/ha/watchdog.ts) */
  watchdogPid?: number;
}

export type MemberRole = 'leader' | 'sync_standby' | 'replica' | string;
export interface Member {
  readonly name: string;
  readonly role: MemberRole;
  readonly state: string;
  readonly timeline?: number;
  readonly lag?: number | string;
}

const STATE_FILE = 'cluster.json';
const START_TIMEOUT_MS = 60_000;

// --- packages and users -------------------------------------------------------------------------

const PACKAGES: { bin: string; pkg: string }[] = [
  { bin: '/usr/bin/etcd', pkg: 'etcd-server' },
  { bin: '/usr/bin/patroni', pkg: 'patroni' },
  { bin: '/usr/sbin/haproxy', pkg: 'haproxy' },
];

/** Installs Debian's etcd-server, patroni and haproxy (and PostgreSQL) where they are missing. */
export function ensurePackages(): void {
  pgBinDir(); // installs PostgreSQL when missing
  const missing = PACKAGES.filter((p) => !existsSync(p.bin)).map((p) => p.pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing ${missing.join(', ')}: run \`apt-get install ${missing.join(' ')}\` as root`);
  }
  const apt = (args: string[]): void => {
    execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  };
  try {
    apt(['install', '-y', '-qq', ...missing]);
  } catch {
    apt(['update', '-qq']);
    apt(['install', '-y', '-qq', ...missing]);
  }
}

/** PostgreSQL refuses to run as root: as root, Patroni (and so PostgreSQL) runs as `postgres`. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  };
}

// --- processes ----------------------------------------------------------------------------------

/** Alive and not a zombie (a detached postmaster's reaper may be slow, or absent in a container). */
export function alive(pid: number | undefined): boolean {
  if (pid === undefined || pid <= 0) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function waitGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts a process detached, its output appended to `log`, so it outlives a CLI that started it. */
function launch(
  bin: string,
  args: string[],
  log: string,
  options: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): number {
  const fd = openSync(log, 'a');
  const child = spawn(bin, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: options.env ?? process.env,
    cwd: options.cwd,
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
  });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${bin}`);
  return child.pid;
}

// --- configuration ------------------------------------------------------------------------------

function etcdArgs(state: HaClusterState, i: number): string[] {
  const m = state.etcd[i]!;
  const initial = state.etcd.map((e) => `${e.name}=http://127.0.0.1:${e.peerPort}`).join(',');
  return [
    '--name',
    m.name,
    '--data-dir',
    join(state.dir, 'etcd', m.name),
    '--listen-client-urls',
    `http://127.0.0.1:${m.clientPort}`,
    '--advertise-client-urls',
    `http://127.0.0.1:${m.clientPort}`,
    '--listen-peer-urls',
    `http://127.0.0.1:${m.peerPort}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${m.peerPort}`,
    '--initial-cluster',
    initial,
    '--initial-cluster-token',
    `hub-ha-${process.pid}`,
    '--initial-cluster-state',
    'new',
    // no metrics or profiling listeners beyond the client URL
    '--logger',
    'zap',
  ];
}

/**
 * One Patroni node's YAML. Why each setting is what it is: docs/ha-cluster.md. The `bootstrap.dcs`
 * part is written into etcd by the first node and is the cluster's shared configuration.
 */
export function patroniConfig(
  state: HaClusterState,
  node: HaNodeState,
  bin: string,
  watchdog = true,
): string {
  const hosts = state.etcd.map((e) => `127.0.0.1:${e.clientPort}`).join(',');
  return `scope: ${SCOPE}
namespace: /service/
name: ${node.name}

restapi:
  listen: 127.0.0.1:${node.restPort}
  connect_address: 127.0.0.1:${node.restPort}

etcd3:
  hosts: ${hosts}

bootstrap:
  dcs:
    ttl: ${PATRONI_TIMING.ttl}
    loop_wait: ${PATRONI_TIMING.loop_wait}
    retry_timeout: ${PATRONI_TIMING.retry_timeout}
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_mode_strict: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      remove_data_directory_on_rewind_failure: true
      remove_data_directory_on_diverged_timelines: true
      parameters:
        max_connections: 200
        shared_buffers: 32MB
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 128MB
        synchronous_commit: 'on'
        # a standby whose primary went away retries every 1 s, not 5: with synchronous_mode_strict
        # the new primary takes no commit until a standby streams from it
        wal_retrieve_retry_interval: 1s
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - auth: trust

postgresql:
  listen: 127.0.0.1:${node.pgPort}
  connect_address: 127.0.0.1:${node.pgPort}
  data_dir: ${node.dataDir}
  bin_dir: ${bin}
  pgpass: ${join(node.dir, 'pgpass')}
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: replicator
      password: replicator
  parameters:
    unix_socket_directories: '${node.dir}'
    fsync: 'on'
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication replicator 127.0.0.1/32 trust

# a leader that stops kicking its watchdog (a frozen machine) is reset before its key can expire;
# on a real machine the device is /dev/watchdog (softdog or hardware) and no driver line; here
# Patroni's test-harness driver writes to a pipe the watchdog stand-in reads (test/ha/watchdog.ts)
watchdog:
  mode: ${watchdog ? 'required' : 'off'}
  driver: testing
  device: ${watchdogPipe(node.dir)}
  safety_margin: ${WATCHDOG_SAFETY_MARGIN}

tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
`;
}

/**
 * Patroni's documented HAProxy set-up: a TCP proxy whose health check asks each node's Patroni
 * `GET /primary`; only the leader answers 200. A node marked down has its sessions cut, so clients
 * of a demoted primary reconnect instead of talking to a read-only server.
 */
export function haproxyConfig(state: HaClusterState): string {
  const servers = state.nodes
    .map((n) => `    server ${n.name} 127.0.0.1:${n.pgPort} maxconn 200 check port ${n.restPort}`)
    .join('\n');
  return `global
    maxconn 1000

defaults
    mode tcp
    retries 2
    timeout connect 4s
    timeout client 30m
    timeout server 30m
    timeout check 2s

listen primary
    bind 127.0.0.1:${state.haproxyPort}
    option httpchk GET /primary
    http-check expect status 200
    default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
${servers}
`;
}

// --- the cluster ----------------------------------------------------------------------------------

export interface HaCluster {
  readonly state: HaClusterState;
  readonly dir: string;
  /** the hub's STORE_URL through HAProxy */
  readonly url: string;
  /** the hub's STORE_URL listing every node, libpq style, no HAProxy */
  readonly multiHostUrl: string;
  node(name: string): HaNodeState;
  /** members as Patroni's REST API reports them (asks each running node until one answers) */
  members(): Promise<Member[]>;
  /** the leader's name, or undefined while there is none */
  leader(): Promise<string | undefined>;
  /** waits until there is a leader, a sync standby and every node runs and streams */
  waitHealthy(timeoutMs?: number): Promise<{ leader: string; sync: string }>;
  /** the postmaster pid of a node now, from its postmaster.pid */
  postmasterPid(name: string): number | undefined;
  /** one committed write on that node, with short timeouts: true when it is a writable primary */
  probeWrite(name: string, timeoutMs?: number): Promise<boolean>;
  /** `kill -9` the node's postmaster; Patroni stays */
  killPostmaster(name: string): void;
  /** `kill -9` the node's Patroni, its postmaster and every backend: the machine is gone */
  killNode(name: string): Promise<void>;
  /** SIGSTOP the node's Patroni, postmaster and backends: a machine that hangs */
  freezeNode(name: string): void;
  /** SIGCONT what freezeNode stopped */
  thawNode(name: string): void;
  /** starts Patroni on a node again (after killNode); it rejoins as a replica */
  startNode(name: string): void;
  /** a planned switchover through Patroni's REST API; resolves once Patroni accepted it */
  switchover(): Promise<{ from: string }>;
  /** what the watchdog stand-in logged since `since` (ms epoch): arms, disarms, resets */
  watchdogEvents(since: number): string[];
  /** psql as the superuser on a node; resolves with the output */
  psql(name: string, sql: string, database?: string): Promise<string>;
  /** stops everything this cluster started, by pid, and removes its directory */
  down(): Promise<void>;
}

function saveState(state: HaClusterState): void {
  writeFileSync(join(state.dir, STATE_FILE), JSON.stringify(state, null, 2));
}

export function loadState(dir: string): HaClusterState {
  return JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as HaClusterState;
}

async function httpGet(url: string, timeoutMs = 1500): Promise<{ status: number; text: string } | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: r.status, text: await r.text() };
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(`HA cluster: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
}

function logTail(file: string, lines = 30): string {
  try {
    // without the tracebacks Patroni's REST server logs for every health check HAProxy resets
    const noise = /^\s|^$|Traceback|Exception happened during processing|ConnectionResetError/;
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => !noise.test(l))
      .slice(-lines)
      .join('\n');
  } catch {
    return '';
  }
}

/** Brings the whole cluster up; resolves once the leader has a sync standby and hub_test exists. */
export interface HaOptions {
  /**
   * false: Patroni runs without its watchdog (`mode: off`), as on a machine without one; on
   * Patroni 3.0.2 a frozen primary may then take the leader key back (docs/ha-cluster.md)
   */
  readonly watchdog?: boolean;
}

export async function startHaCluster(options: HaOptions = {}): Promise<HaCluster> {
  const watchdog = options.watchdog ?? true;
  ensurePackages();
  const bin = pgBinDir();
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'hub-ha-'));
  chmodSync(dir, 0o755);
  const ports = async (n: number): Promise<number[]> => {
    const out: number[] = [];
    while (out.length < n) {
      const p = await freePort();
      if (!out.includes(p)) out.push(p);
    }
    return out;
  };
  const [haproxyPort, ...rest] = await ports(13);
  const state: HaClusterState = {
    dir,
    etcd: [0, 1, 2].map((i) => ({
      name: `etcd${i + 1}`,
      clientPort: rest[i * 2]!,
      peerPort: rest[i * 2 + 1]!,
      pid: 0,
    })),
    nodes: [0, 1, 2].map((i) => {
      const nodeDir = join(dir, `node${i + 1}`);
      return {
        name: `node${i + 1}`,
        pgPort: rest[6 + i * 2]!,
        restPort: rest[6 + i * 2 + 1]!,
        dir: nodeDir,
        dataDir: join(nodeDir, 'data'),
        configFile: join(nodeDir, 'patroni.yml'),
        patroniPid: 0,
        postmasterPids: [],
      };
    }),
    haproxyPort: haproxyPort!,
    haproxyPid: 0,
  };
  const cluster = handle(state, bin, user);
  try {
    // etcd: all three at once, as a new cluster
    mkdirSync(join(dir, 'etcd'));
    state.etcd.forEach((m, i) => {
      m.pid = launch('/usr/bin/etcd', etcdArgs(state, i), join(dir, 'etcd', `${m.name}.log`));
    });
    saveState(state);
    await until('etcd', START_TIMEOUT_MS, async () => {
      const all = await Promise.all(
        state.etcd.map((m) => httpGet(`http://127.0.0.1:${m.clientPort}/health`)),
      );
      return all.every((r) => r?.status === 200 && r.text.includes('"true"')) ? true : undefined;
    });

    for (const node of state.nodes) {
      mkdirSync(node.dir, { mode: 0o700 });
      writeFileSync(node.configFile, patroniConfig(state, node, bin, watchdog));
      execFileSync('mkfifo', ['-m', '0600', watchdogPipe(node.dir)]);
      if (user) {
        chownSync(node.dir, user.uid, user.gid);
        chownSync(node.configFile, user.uid, user.gid);
        chownSync(watchdogPipe(node.dir), user.uid, user.gid);
      }
    }
    saveState(state);
    // the watchdogs before Patroni: a leader's Patroni opens its device before it promotes
    state.watchdogPid = launch(
      process.execPath,
      ['--import', 'tsx', WATCHDOG_SCRIPT, dir],
      join(dir, 'watchdog.out'),
    );
    saveState(state);
    await until('the watchdog stand-in', START_TIMEOUT_MS, async () => {
      if (!alive(state.watchdogPid))
        throw new Error(`the watchdog stand-in exited:\n${logTail(join(dir, 'watchdog.out'))}`);
      return existsSync(join(dir, WATCHDOG_LOG)) ? true : undefined;
    });
    // the first node bootstraps alone, so it is the one that runs initdb; the others clone it
    cluster.startNode('node1');
    await until('node1 to bootstrap', START_TIMEOUT_MS, async () => {
      const r = await httpGet(`http://127.0.0.1:${state.nodes[0]!.restPort}/primary`);
      if (!alive(state.nodes[0]!.patroniPid)) {
        throw new Error(`patroni node1 exited:\n${logTail(join(state.nodes[0]!.dir, 'patroni.log'))}`);
      }
      return r?.status === 200 ? true : undefined;
    });
    cluster.startNode('node2');
    cluster.startNode('node3');

    writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(state));
    state.haproxyPid = launch(
      '/usr/sbin/haproxy',
      ['-db', '-f', join(dir, 'haproxy.cfg')],
      join(dir, 'haproxy.log'),
    );
    saveState(state);

    const { leader } = await cluster.waitHealthy(START_TIMEOUT_MS);
    // the hub's role and database, made on the primary (Patroni 3 dropped bootstrap.users)
    await cluster.psql(
      leader,
      `DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${HA_USER}') THEN
           CREATE ROLE ${HA_USER} LOGIN PASSWORD '${HA_USER}';
         END IF;
       END $$;`,
    );
    await cluster.psql(leader, `CREATE DATABASE ${HA_DATABASE} OWNER ${HA_USER}`);
    await cluster.psql(leader, 'CREATE TABLE IF NOT EXISTS ha_probe (at timestamptz, node text)');
    // HAProxy's checks run every second: wait until it routes to the primary
    await until('HAProxy to route to the primary', START_TIMEOUT_MS, async () => {
      const out = await psqlAt(bin, state.haproxyPort, 'SELECT pg_is_in_recovery()', 'postgres', 2000).catch(
        () => '',
      );
      return out.trim() === 'f' ? true : undefined;
    });
    return cluster;
  } catch (err) {
    await cluster.down().catch(() => undefined);
    throw err;
  }
}

/** psql on loopback with short timeouts; rejects on any error (the message is psql's stderr). */
function psqlAt(
  bin: string,
  port: number,
  sql: string,
  database: string,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      join(bin, 'psql'),
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        database,
        '-XAtq',
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        sql,
      ],
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        env: {
          PATH: process.env.PATH ?? '',
          PGCONNECT_TIMEOUT: String(Math.max(1, Math.floor(timeoutMs / 2000))),
          PGOPTIONS: `-c statement_timeout=${timeoutMs}`,
        },
        cwd: '/',
      },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)),
    );
  });
}

/** A cluster handle over its state (also used by `down` in another process). */
export function handle(state: HaClusterState, bin: string = pgBinDir(), user = serverUser()): HaCluster {
  const node = (name: string): HaNodeState => {
    const n = state.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  };
  const postmasterPid = (name: string): number | undefined => {
    const n = node(name);
    try {
      const pid = Number(readFileSync(join(n.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (!alive(pid) || !cmdline(pid).includes(n.dataDir)) return undefined;
      if (!n.postmasterPids.includes(pid)) {
        n.postmasterPids.push(pid);
        saveState(state);
      }
      return pid;
    } catch {
      return undefined;
    }
  };
  /** Patroni, its children, the postmaster and its children: what makes up one node's processes */
  const nodeProcesses = (name: string): number[] => {
    const n = node(name);
    const pids: number[] = [];
    if (alive(n.patroniPid)) pids.push(n.patroniPid, ...childrenOf(n.patroniPid));
    const pm = postmasterPid(name);
    if (pm !== undefined) pids.push(pm, ...childrenOf(pm));
    return pids;
  };
  const frozen = new Map<string, number[]>();

  const members = async (): Promise<Member[]> => {
    for (const n of state.nodes) {
      if (!alive(n.patroniPid) || frozen.has(n.name)) continue;
      const r = await httpGet(`http://127.0.0.1:${n.restPort}/cluster`);
      if (r?.status !== 200) continue;
      try {
        return (JSON.parse(r.text) as { members: Member[] }).members;
      } catch {
        continue;
      }
    }
    return [];
  };

  const cluster: HaCluster = {
    state,
    dir: state.dir,
    url: `postgres://${HA_USER}:${HA_USER}@127.0.0.1:${state.haproxyPort}/${HA_DATABASE}`,
    multiHostUrl:
      `postgres://${HA_USER}:${HA_USER}@` +
      state.nodes.map((n) => `127.0.0.1:${n.pgPort}`).join(',') +
      `/${HA_DATABASE}?target_session_attrs=read-write`,
    node,
    members,
    async leader() {
      return (await members()).find((m) => m.role === 'leader' && m.state === 'running')?.name;
    },
    async waitHealthy(timeoutMs = START_TIMEOUT_MS) {
      let last: Member[] = [];
      return until('a healthy cluster (leader, sync standby, 3 running members)', timeoutMs, async () => {
        for (const n of state.nodes) {
          if (!alive(n.patroniPid)) {
            throw new Error(`patroni ${n.name} exited:\n${logTail(join(n.dir, 'patroni.log'))}`);
          }
        }
        const ms = await members();
        last = ms;
        const leader = ms.find((m) => m.role === 'leader' && m.state === 'running');
        const sync = ms.find((m) => m.role === 'sync_standby' && m.state === 'running');
        const running = ms.filter((m) => m.state === 'running').length;
        if (!leader || !sync || running !== 3) return undefined;
        // the leader's Patroni answers /primary, so HAProxy can route to it
        const r = await httpGet(`http://127.0.0.1:${node(leader.name).restPort}/primary`);
        return r?.status === 200 ? { leader: leader.name, sync: sync.name } : undefined;
      }).catch((err: Error) => {
        // what the members say and what each Patroni logged last, to tell why
        const logs = state.nodes
          .map(
            (n) =>
              `--- ${n.name} (patroni ${alive(n.patroniPid) ? 'running' : 'gone'}):\n${logTail(join(n.dir, 'patroni.log'), 15)}`,
          )
          .join('\n');
        const resets = readLines(join(state.dir, WATCHDOG_LOG)).filter((l) => / reset /.test(l));
        throw new Error(
          `${err.message}\nmembers: ${JSON.stringify(last)}\nwatchdog resets: ${resets.join(' | ') || 'none'}\n${logs}`,
        );
      });
    },
    postmasterPid,
    async probeWrite(name, timeoutMs = 1500) {
      try {
        await psqlAt(
          bin,
          node(name).pgPort,
          `INSERT INTO ha_probe VALUES (now(), '${name}')`,
          'postgres',
          timeoutMs,
        );
        return true;
      } catch {
        return false;
      }
    },
    killPostmaster(name) {
      const pm = postmasterPid(name);
      if (pm === undefined) throw new Error(`${name} has no running postmaster`);
      signal(pm, 'SIGKILL');
    },
    async killNode(name) {
      const pids = nodeProcesses(name);
      for (const pid of pids) signal(pid, 'SIGKILL');
      await waitGone(pids, 10_000);
    },
    freezeNode(name) {
      const pids = nodeProcesses(name);
      for (const pid of pids) signal(pid, 'SIGSTOP');
      frozen.set(name, pids);
    },
    thawNode(name) {
      for (const pid of frozen.get(name) ?? []) signal(pid, 'SIGCONT');
      frozen.delete(name);
    },
    startNode(name) {
      const n = node(name);
      if (alive(n.patroniPid)) return;
      n.patroniPid = launch('/usr/bin/patroni', [n.configFile], join(n.dir, 'patroni.log'), {
        ...(user ?? {}),
        cwd: n.dir,
        env: { PATH: '/usr/bin:/bin', HOME: n.dir, LANG: 'C.UTF-8', PYTHONUNBUFFERED: '1' },
      });
      saveState(state);
    },
    async switchover() {
      const from = await cluster.leader();
      if (!from) throw new Error('switchover: no leader');
      const r = await fetch(`http://127.0.0.1:${node(from).restPort}/switchover`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ leader: from }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await r.text();
      if (r.status !== 200) throw new Error(`switchover: ${r.status} ${text}`);
      return { from };
    },
    watchdogEvents(since) {
      return readLines(join(state.dir, WATCHDOG_LOG)).filter((l) => Date.parse(l.split(' ')[0]!) >= since);
    },
    psql(name, sql, database = 'postgres') {
      return psqlAt(bin, node(name).pgPort, sql, database, 30_000);
    },
    async down() {
      await stopAll(state, frozen);
      rmSync(state.dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** Stops, by pid, what the state file says this cluster started. The data is thrown away, so no
 * clean shutdown is needed: Patroni first (so it restarts nothing), then PostgreSQL, HAProxy, etcd. */
async function stopAll(state: HaClusterState, frozen: Map<string, number[]> = new Map()): Promise<void> {
  // the watchdog stand-in first: it must not reset a node that is being taken down
  if (alive(state.watchdogPid)) {
    signal(state.watchdogPid!, 'SIGKILL');
    await waitGone([state.watchdogPid!], 5_000);
  }
  for (const pids of frozen.values()) for (const pid of pids) signal(pid, 'SIGCONT');
  const patronis = state.nodes.map((n) => n.patroniPid).filter(alive);
  for (const pid of patronis) signal(pid, 'SIGKILL');
  await waitGone(patronis, 10_000);
  const postmasters: number[] = [];
  for (const n of state.nodes) {
    for (const pid of n.postmasterPids) {
      if (alive(pid) && cmdline(pid).includes(n.dataDir)) postmasters.push(pid);
    }
    // a postmaster started after the state was last written
    try {
      const pid = Number(readFileSync(join(n.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (alive(pid) && cmdline(pid).includes(n.dataDir) && !postmasters.includes(pid)) postmasters.push(pid);
    } catch {
      // no postmaster.pid
    }
  }
  for (const pid of postmasters) {
    signal(pid, 'SIGCONT');
    signal(pid, 'SIGQUIT'); // immediate shutdown: the postmaster ends its backends too
  }
  if (!(await waitGone(postmasters, 10_000))) for (const pid of postmasters) signal(pid, 'SIGKILL');
  await waitGone(postmasters, 5_000);
  const others = [state.haproxyPid, ...state.etcd.map((e) => e.pid)].filter(alive);
  for (const pid of others) signal(pid, 'SIGTERM');
  if (!(await waitGone(others, 10_000))) for (const pid of others) signal(pid, 'SIGKILL');
}

/** `down` for a cluster started by another process (cluster-cli.ts). */
export async function stopHaCluster(dir: string): Promise<void> {
  await stopAll(loadState(dir));
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Last resort for a test process that ends without its `after` hooks (an uncaught error, mocha's
 * --exit): SIGKILL, synchronously, every process the state names, then remove the directory.
 */
export function killSync(state: HaClusterState): void {
  const pids = [
    state.watchdogPid ?? 0,
    ...state.nodes.map((n) => n.patroniPid),
    ...state.nodes.flatMap((n) => n.postmasterPids.filter((pid) => cmdline(pid).includes(n.dataDir))),
    state.haproxyPid,
    ...state.etcd.map((e) => e.pid),
  ].filter(alive);
  for (const pid of pids) {
    signal(pid, 'SIGCONT');
    signal(pid, 'SIGKILL');
  }
  rmSync(state.dir, { recursive: true, force: true });
}
