import { hubError } from '../errors.js';
import type { Store } from '../store/types.js';
import { hashKey, newKey } from './credentials.js';
import { DATASET_ID } from './ids.js';
import type { ContextLookup } from './jsonld-loader.js';

/**
 * Contexts an admin registers (PUT /contexts/{name}), kept in the store beside the hub's own
 * files. The store's auxiliary entries belong to a dataset, so the hub keeps hub-wide entries in
 * a dataset of its own, `_hub`: a name no route accepts (dataset ids start with a letter or digit),
 * left out of every listing. Both engines store it like any dataset; nothing engine-specific.
 */
export const HUB_DATASET = '_hub';
const CONTEXTS_NS = 'contexts';

/** Is this one of the hub's own datasets (never listed, never reachable by a dataset route)? */
export const isInternalDataset = (name: string): boolean => !DATASET_ID.test(name);

const CONTEXT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MAX_CONTEXT_BYTES = 256 * 1024;
export const MAX_REGISTERED_CONTEXTS = 100;
/** Another hub on the same PostgreSQL schema may change contexts: re-read them at most this often. */
const REFRESH_MS = 2_000;

export function checkContextName(name: string): void {
  if (!CONTEXT_NAME.test(name.replace(/\.jsonld$/, '')))
    throw hubError('INVALID_CONTEXT_NAME', 'a context name must match ^[a-z0-9][a-z0-9._-]{0,63}$');
}

/**
 * One hub's contexts: its built-in files (read at start-up) and the ones registered on it, held by
 * this instance (two hubs in one process share nothing). It is the lookup the main thread resolves
 * context names against; the JSON-LD tasks get a copy of the registered ones.
 */
export class ContextRegistry implements ContextLookup {
  private entries: ReadonlyMap<string, string> = new Map();
  private loadedAt = 0;
  private loading: Promise<void> | undefined;

  private constructor(
    private readonly store: Store,
    /** name → text of the hub's built-in contexts */
    readonly builtIn: ReadonlyMap<string, string>,
  ) {}

  static async open(store: Store, builtIn: ReadonlyMap<string, string>): Promise<ContextRegistry> {
    if (!(await store.getDataset(HUB_DATASET))) {
      // keys nobody holds: the hub's dataset is reached through this registry only
      await store.putDataset(HUB_DATASET, (existing) => ({
        config: existing?.config ?? {},
        keyHashes: existing?.keyHashes ?? { push: hashKey(newKey()), read: hashKey(newKey()) },
      }));
    }
    const registry = new ContextRegistry(store, builtIn);
    await registry.reload();
    return registry;
  }

  /** The text of a context (`icar` or `icar.jsonld`), built-in or registered (as last read). */
  text(name: string): string | undefined {
    const bare = name.endsWith('.jsonld') ? name.slice(0, -'.jsonld'.length) : name;
    return this.builtIn.get(bare) ?? this.current().get(bare);
  }

  isBuiltIn(name: string): boolean {
    return this.builtIn.has(name);
  }

  /** Built-in names (sorted), then registered ones. */
  names(): string[] {
    return [...this.builtInNames(), ...this.registeredNames()];
  }

  builtInNames(): string[] {
    return [...this.builtIn.keys()].sort();
  }

  /** The registered contexts as last read (name → text); what documents resolve against. */
  current(): ReadonlyMap<string, string> {
    if (Date.now() - this.loadedAt > REFRESH_MS) void this.refresh().catch(() => undefined);
    return this.entries;
  }

  /** Re-reads the store if the copy is older than REFRESH_MS. */
  async refresh(): Promise<ReadonlyMap<string, string>> {
    if (Date.now() - this.loadedAt > REFRESH_MS) await this.reload();
    return this.entries;
  }

  private reload(): Promise<void> {
    this.loading ??= (async () => {
      const next = new Map<string, string>();
      for await (const [name, text] of this.store.auxScan(HUB_DATASET, CONTEXTS_NS)) next.set(name, text);
      this.entries = next;
      this.loadedAt = Date.now();
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  registeredNames(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** Adds or replaces a context (its text already checked as a context document). */
  async put(name: string, text: string): Promise<{ created: boolean }> {
    checkContextName(name);
    if (this.isBuiltIn(name))
      throw hubError(
        'CONTEXT_BUILT_IN',
        `'${name}' is one of the hub's own contexts (${this.builtInNames().join(', ')}); it cannot be replaced`,
      );
    if (Buffer.byteLength(text) > MAX_CONTEXT_BYTES)
      throw hubError('PAYLOAD_TOO_LARGE', `a registered context may have at most ${MAX_CONTEXT_BYTES} bytes`);
    await this.reload();
    const created = !this.entries.has(name);
    if (created && this.entries.size >= MAX_REGISTERED_CONTEXTS)
      throw hubError(
        'TOO_MANY_CONTEXTS',
        `the hub keeps at most ${MAX_REGISTERED_CONTEXTS} registered contexts`,
      );
    await this.store.auxPut(HUB_DATASET, [{ ns: CONTEXTS_NS, key: name, value: text }], { sync: true });
    await this.reload();
    return { created };
  }

  async get(name: string): Promise<string | undefined> {
    return (await this.refresh()).get(name);
  }

  async delete(name: string): Promise<void> {
    checkContextName(name);
    if (this.isBuiltIn(name))
      throw hubError('CONTEXT_BUILT_IN', `'${name}' is one of the hub's own contexts; it cannot be deleted`);
    await this.reload();
    if (!this.entries.has(name)) throw hubError('CONTEXT_NOT_FOUND', `no context '${name}' on this hub`);
    await this.store.auxPut(HUB_DATASET, [{ ns: CONTEXTS_NS, key: name, value: null }], { sync: true });
    await this.reload();
  }
}
