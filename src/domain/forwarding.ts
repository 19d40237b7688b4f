import type { Namespaces } from './namespaces.js';
import type { Change } from '../store/types.js';

/** The `upstream` block of a dataset config: another hub's base URL, dataset and push key. */
export interface UpstreamConfig {
  readonly url: string;
  readonly dataset: string;
  readonly key: string;
}

/** One upstream call: where, the JSON text it sends, and headers of its protocol beyond the key. */
export interface UpstreamRequest {
  readonly url: string;
  /** JSON text */
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The outgoing calls a kind's forwarder may make (the forwarder adds the key, retries and stops them). */
export interface UpstreamCalls {
  /** POSTs the request; resolves on a 2xx, rejects otherwise */
  post(request: UpstreamRequest): Promise<void>;
  /** GETs a JSON-lines resource of the upstream, one line at a time (flat memory) */
  lines(url: string): AsyncIterable<string>;
}

/** What a kind's resync is given: the upstream, the local current state, and the calls it may make. */
export interface ResyncContext {
  readonly upstream: UpstreamConfig;
  /** the local dataset's new epoch */
  readonly epoch: string;
  readonly namespaces: Namespaces;
  readonly calls: UpstreamCalls;
  /** document bytes one upstream request may carry */
  readonly batchBytes: number;
  /** the local dataset's live changes of this kind, in key order */
  local(): AsyncIterable<Change>;
  /** does the local dataset hold this key, not deleted? */
  isLive(key: string): Promise<boolean>;
}

/**
 * How the changes of one kind travel to an upstream hub (docs/operations.md#forwarding). Each protocol
 * that writes a kind registers one, as it registers how the kind renders in feeds: the forwarder
 * (src/ops/forwarder.ts) knows no kind and builds no dialect's body.
 */
export interface KindForwarder {
  /**
   * Which upstream route a change takes, when the kind has several (ODS: push or delete): a run of
   * consecutive changes of one kind and lane travels as one request. Without it, one lane.
   */
  lane?(change: Change): string;
  /** One request for a run of changes of this kind and lane, in order (deletes included). */
  request(upstream: UpstreamConfig, changes: readonly Change[], namespaces: Namespaces): UpstreamRequest;
  /**
   * After the local dataset moved to a new epoch (a recovery's rebuild, a restore): makes the
   * upstream's items of this kind equal to the local current state — the protocol's own full sync
   * where it has one, else deletes for what the upstream holds and the local dataset does not. The
   * forwarder then sends the new epoch from its start. Must be safe to run again (a crash mid-way
   * runs it again).
   */
  resync(ctx: ResyncContext): Promise<void>;
}

/** The registered kind forwarders; a kind nobody registered is not forwarded (and says so in the log). */
export class KindForwarders {
  private readonly byKind = new Map<string, KindForwarder>();

  register(kind: string, forwarder: KindForwarder): void {
    this.byKind.set(kind, forwarder);
  }

  get(kind: string): KindForwarder | undefined {
    return this.byKind.get(kind);
  }

  /** Every registered kind with its forwarder, in registration order. */
  entries(): IterableIterator<[string, KindForwarder]> {
    return this.byKind.entries();
  }
}
