import { EventEmitter } from 'node:events';
import { hubError, HubError } from '../errors.js';
import type { DatasetRecord, JsonObject, Store } from '../store/types.js';
import { configOf, keepMaskedSecrets, parseDatasetConfig, type DatasetConfig } from './config.js';
import type { ContextLookup } from './jsonld-loader.js';
import { hashKey, newKey, sameHash } from './credentials.js';
import { isInternalDataset } from './contexts.js';
import { checkDatasetId } from './ids.js';
import { DatasetKeys, type KeyScope } from './keys.js';

export type Need = 'admin' | 'push' | 'read';

export type Principal =
  | { readonly role: 'admin' }
  | {
      readonly role: 'push' | 'read';
      readonly dataset: string;
      readonly keyHash: string;
      /** an additional key's id and scope (domain/keys.ts); the dataset's own two keys have neither */
      readonly keyId?: string;
      readonly scope?: KeyScope;
    }
  | { readonly role: 'anonymous' };

export interface IssuedKeys {
  readonly pushKey: string;
  readonly readKey: string;
}

const unauthorized = (message: string): HubError => hubError('UNAUTHORIZED', message);
const forbidden = (message: string): HubError => hubError('FORBIDDEN', message);

/**
 * Datasets, their keys and who may do what with them (docs/datasets.md). Emits `deleted` (the dataset's
 * name) after a delete, so that what is kept in memory about a dataset can go with it.
 */
export class Datasets extends EventEmitter<{ deleted: [name: string] }> {
  /** the additional (possibly scoped) keys of each dataset */
  readonly keys: DatasetKeys;

  constructor(
    private readonly store: Store,
    private readonly adminHash: string,
    /** what a config's `context` must name */
    private readonly contexts: ContextLookup,
  ) {
    super();
    this.keys = new DatasetKeys(store);
  }

  async put(
    id: string,
    body: unknown,
  ): Promise<{ created: boolean; record: DatasetRecord; keys?: IssuedKeys }> {
    checkDatasetId(id);
    const config = parseDatasetConfig(body, this.contexts);
    let issued: IssuedKeys | undefined;
    const { created, record } = await this.store.putDataset(id, (existing) => {
      if (existing) {
        const kept = keepMaskedSecrets(config, configOf(existing));
        return { config: kept as JsonObject, keyHashes: existing.keyHashes };
      }
      issued = { pushKey: newKey(), readKey: newKey() };
      return {
        config: config as JsonObject,
        keyHashes: { push: hashKey(issued.pushKey), read: hashKey(issued.readKey) },
      };
    });
    return created && issued ? { created, record, keys: issued } : { created, record };
  }

  /** New keys for the dataset; the old ones stop working at once. */
  async renewKeys(id: string): Promise<IssuedKeys> {
    const issued: IssuedKeys = { pushKey: newKey(), readKey: newKey() };
    await this.require(id);
    await this.store.putDataset(id, (existing) => {
      if (!existing) throw hubError('DATASET_NOT_FOUND', `dataset '${id}' does not exist`);
      return {
        config: existing.config,
        keyHashes: { push: hashKey(issued.pushKey), read: hashKey(issued.readKey) },
      };
    });
    return issued;
  }

  async get(id: string): Promise<DatasetRecord | undefined> {
    return this.store.getDataset(id);
  }

  async require(id: string): Promise<DatasetRecord> {
    checkDatasetId(id);
    const rec = await this.store.getDataset(id);
    if (!rec) throw hubError('DATASET_NOT_FOUND', `dataset '${id}' does not exist`);
    return rec;
  }

  async delete(id: string): Promise<boolean> {
    checkDatasetId(id);
    const deleted = await this.store.deleteDataset(id);
    if (deleted) this.emit('deleted', id);
    return deleted;
  }

  /** Datasets the principal may read: all for admin, its own for a key, the public ones for anyone. */
  async readable(principal: Principal): Promise<DatasetRecord[]> {
    const all = await this.store.listDatasets();
    return all.filter((d) => !isInternalDataset(d.name) && mayRead(principal, d));
  }

  /** Who is this credential? Missing → anonymous; unknown or garbled → 401. */
  async identify(credential: string | undefined): Promise<Principal> {
    if (credential === undefined) return { role: 'anonymous' };
    if (credential.length === 0 || credential.length > 512) throw unauthorized('the credential is not valid');
    const hash = hashKey(credential);
    if (sameHash(hash, this.adminHash)) return { role: 'admin' };
    const found = await this.store.findKeyHash(hash);
    if (found) return { role: found.role, dataset: found.dataset, keyHash: hash };
    const extra = await this.keys.resolve(credential);
    if (!extra) throw unauthorized('the credential is not valid');
    return {
      role: extra.role,
      dataset: extra.dataset,
      keyHash: hash,
      keyId: extra.id,
      ...(extra.scope ? { scope: extra.scope } : {}),
    };
  }

  /**
   * May this principal do `need` on `dataset`? Throws 401 when a credential is needed and missing,
   * 403 when a valid credential does not grant it.
   */
  authorize(principal: Principal, need: Need, dataset?: DatasetRecord): void {
    if (principal.role === 'admin') return;
    if (need === 'admin') {
      if (principal.role === 'anonymous') throw unauthorized('this route needs the admin token');
      throw forbidden('a dataset key cannot be used on admin routes');
    }
    if (!dataset) throw hubError('INTERNAL', 'authorize without a dataset');
    if (principal.role === 'anonymous') {
      if (need === 'read' && configOf(dataset).public === true) return;
      throw unauthorized(
        need === 'push' ? 'this route needs the dataset push key' : 'this dataset needs a read key',
      );
    }
    if (principal.dataset !== dataset.name)
      throw forbidden(`the key does not grant access to dataset '${dataset.name}'`);
    if (need === 'push' && principal.role !== 'push') throw forbidden('a read key cannot push');
  }
}

export function mayRead(principal: Principal, d: DatasetRecord): boolean {
  if (principal.role === 'admin') return true;
  if (principal.role === 'anonymous') return configOf(d).public === true;
  return principal.dataset === d.name || configOf(d).public === true;
}

export type { DatasetConfig };
