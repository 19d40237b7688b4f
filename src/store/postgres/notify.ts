import { escapeIdentifier, type Client } from 'pg';
import type { ChangeNotice } from '../types.js';
import { statement } from './db.js';

/**
 * Change notices between hub processes on one database: every commit that moves a dataset's
 * changelog sends `pg_notify(channel, payload)` inside its transaction (PostgreSQL delivers it at
 * COMMIT, never for a rolled-back transaction), and every process LISTENs on one connection of its
 * own. A long-poll waiting in process B thus wakes on a push committed by process A within a few
 * milliseconds. The channel is per schema, so hubs in different schemas of one database stay apart.
 *
 * Payload: JSON `{"d": dataset, "e": epoch, "s": lastSeq, "i": sender instance}`; a process skips
 * its own notices (it told its listeners directly after its commit).
 */
export interface WireNotice {
  readonly d: string;
  readonly e: string;
  readonly s: number;
  readonly i: string;
}

export function channelOf(schema: string): string {
  return `sync_hub.${schema}`;
}

export function noticePayload(notice: ChangeNotice, instance: string): string {
  const wire: WireNotice = { d: notice.dataset, e: notice.epoch, s: notice.lastSeq, i: instance };
  return JSON.stringify(wire);
}

export interface ListenerOptions {
  /** a new connection to the primary (db.ts: the current host, failing over like the pool) */
  readonly connect: () => Promise<Client>;
  /** how long the heartbeat waits for an answer before it gives the connection up */
  readonly timeoutMs: number;
  readonly channel: string;
  readonly instance: string;
  readonly onNotice: (notice: ChangeNotice) => void;
  /** After a reconnect: notices may have been missed, the owner re-announces what it knows. */
  readonly onResync: () => void;
}

const MAX_BACKOFF_MS = 5_000;
/**
 * A frozen server (or a network that drops packets) keeps a LISTEN connection open and silent
 * forever: a query every few seconds tells, and the connection is given up when it gets no answer.
 */
const HEARTBEAT_MS = 5_000;

/**
 * One LISTEN connection, re-established with backoff whenever it drops (a failover, a restart, a
 * frozen server): notices may have been missed meanwhile, so after every reconnect the owner is
 * told (`onResync`) and wakes its waiting readers once.
 */
export class NoticeListener {
  private client: Client | undefined;
  private closed = false;
  private backoff = 100;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: ListenerOptions) {}

  /**
   * Connects and listens. A server that refuses LISTEN now (a standby not yet promoted: the hub
   * may start against one) is tried again in the background.
   */
  async start(): Promise<void> {
    try {
      await this.connect();
    } catch {
      this.scheduleReconnect();
    }
  }

  private async connect(): Promise<void> {
    const client = await this.options.connect();
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (msg) => {
      if (msg.channel !== this.options.channel || msg.payload === undefined) return;
      const notice = parseNotice(msg.payload);
      if (notice && notice.i !== this.options.instance) {
        this.options.onNotice({ dataset: notice.d, epoch: notice.e, lastSeq: notice.s });
      }
    });
    try {
      await client.query(`LISTEN ${escapeIdentifier(this.options.channel)}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoff = 100;
    this.beat(client);
  }

  private beat(client: Client): void {
    this.heartbeat = setTimeout(() => {
      if (this.client !== client) return;
      client.query(statement('SELECT 1', [], this.options.timeoutMs)).then(
        () => this.beat(client),
        () => this.lost(client),
      );
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private lost(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    if (this.heartbeat) clearTimeout(this.heartbeat);
    client.removeAllListeners('end');
    void client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect().then(
        () => this.options.onResync(),
        () => {
          this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
          this.scheduleReconnect();
        },
      );
    }, this.backoff);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearTimeout(this.heartbeat);
    const c = this.client;
    this.client = undefined;
    if (c) {
      c.removeAllListeners('end');
      await c.end().catch(() => undefined);
    }
  }
}

function parseNotice(payload: string): WireNotice | undefined {
  try {
    const v = JSON.parse(payload) as Partial<WireNotice>;
    if (
      typeof v.d === 'string' &&
      typeof v.e === 'string' &&
      typeof v.s === 'number' &&
      typeof v.i === 'string'
    ) {
      return v as WireNotice;
    }
  } catch {
    // not ours
  }
  return undefined;
}
