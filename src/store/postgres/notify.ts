import { Client, escapeIdentifier, type ClientConfig } from 'pg';
import type { ChangeNotice } from '../types.js';

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
  readonly config: ClientConfig;
  readonly channel: string;
  readonly instance: string;
  readonly onNotice: (notice: ChangeNotice) => void;
  /** After a reconnect: notices may have been missed, the owner re-announces what it knows. */
  readonly onResync: () => void;
}

const MAX_BACKOFF_MS = 5_000;

/** One LISTEN connection, re-established with backoff whenever it drops. */
export class NoticeListener {
  private client: Client | undefined;
  private closed = false;
  private backoff = 100;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ListenerOptions) {}

  /** Connects and listens; the first connection must succeed (start-up fails otherwise). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new Client(this.options.config);
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
      await client.connect();
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
  }

  private lost(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
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
