import { hubError } from '../errors.js';
import type { Store } from '../store/types.js';
import { hashKey, sameHash } from './credentials.js';
import { DATASET_ID } from './ids.js';
import { randomBytes } from 'node:crypto';

/**
 * A dataset's additional keys (docs/datasets.md#scoped-keys): besides the push and read key every
 * dataset has, an admin may create keys with a role and an optional scope. Such a key sees, and
 * pushes, only the documents of its scope on every route of its dataset.
 *
 * They live in the dataset's own aux entries (namespace `keys`, one entry per key id), so they go
 * with the dataset when it is deleted, come back with a backup, and a dataset created again under
 * the same name starts without them. The key text names its dataset and its id
 * (`<dataset>~<id>~<secret>`), so finding it is one aux read: no hub-wide index to keep.
 */
export interface KeyLocation {
  readonly scheme: string;
  readonly id: string;
}

export interface KeyScope {
  /** an ODSQL where over the document's fields (the protocols compile it) */
  readonly where?: string;
  /** ICAR locations: a document is in scope when its location is one of these */
  readonly locations?: readonly KeyLocation[];
}

export type KeyRole = 'push' | 'read';

/** A key as listed (never its text or hash). */
export interface DatasetKey {
  readonly id: string;
  readonly role: KeyRole;
  readonly scope?: KeyScope;
  readonly label?: string;
  readonly createdAt: string;
}

interface StoredKey extends DatasetKey {
  readonly hash: string;
}

export const KEYS_NS = 'keys';
/** A dataset's keys are few: each is read with the dataset's aux scan on list. */
export const MAX_KEYS_PER_DATASET = 1000;
const MAX_LOCATIONS = 1000;
const MAX_WHERE = 4096;
const MAX_TEXT = 256;

const KEY_TEXT = /^([A-Za-z0-9][A-Za-z0-9._-]{0,127})~([0-9a-f]{16})~[0-9a-f]{32}$/;

/** The dataset and key id a scoped key's text names, or undefined for any other credential. */
export function parseKeyText(text: string): { dataset: string; id: string } | undefined {
  const m = KEY_TEXT.exec(text);
  return m && DATASET_ID.test(m[1]!) ? { dataset: m[1]!, id: m[2]! } : undefined;
}

const bad = (message: string) => hubError('INVALID_KEY_SPEC', message);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_TEXT;

/** The body of POST /datasets/{id}/keys, checked for shape (the where's ODSQL is the caller's to compile). */
export function parseKeySpec(body: unknown): { role: KeyRole; scope?: KeyScope; label?: string } {
  if (!isObject(body)) throw bad('the body must be a JSON object {"role", "where"?, "locations"?, "label"?}');
  for (const k of Object.keys(body))
    if (!['role', 'where', 'locations', 'label'].includes(k)) throw bad(`unknown property '${k}'`);
  const { role, where, locations, label } = body;
  if (role !== 'read' && role !== 'push') throw bad('"role" must be "read" or "push"');
  if (label !== undefined && !text(label)) throw bad(`"label" must be a text of 1 to ${MAX_TEXT} characters`);
  if (where !== undefined && (typeof where !== 'string' || where.trim() === '' || where.length > MAX_WHERE))
    throw bad(`"where" must be a non-empty ODSQL text of at most ${MAX_WHERE} characters`);
  let locs: KeyLocation[] | undefined;
  if (locations !== undefined) {
    if (!Array.isArray(locations) || locations.length === 0 || locations.length > MAX_LOCATIONS)
      throw bad(`"locations" must be a list of 1 to ${MAX_LOCATIONS} {"scheme", "id"} objects`);
    locs = locations.map((l, i) => {
      if (!isObject(l) || !text(l.scheme) || !text(l.id) || Object.keys(l).length !== 2)
        throw bad(`locations[${i}] must be {"scheme": text, "id": text}`);
      return { scheme: l.scheme, id: l.id };
    });
  }
  const scope: KeyScope | undefined =
    where !== undefined || locs !== undefined
      ? { ...(where !== undefined ? { where } : {}), ...(locs ? { locations: locs } : {}) }
      : undefined;
  return { role, ...(scope ? { scope } : {}), ...(label !== undefined ? { label } : {}) };
}

function publicView(k: StoredKey): DatasetKey {
  const { hash: _hash, ...view } = k;
  return view;
}

/** Create, list, revoke and resolve a dataset's additional keys, through the store's aux entries. */
export class DatasetKeys {
  constructor(private readonly store: Store) {}

  /** A new key: its text is returned once and never stored (only its hash). Durable when it resolves. */
  async create(
    dataset: string,
    spec: { role: KeyRole; scope?: KeyScope; label?: string },
  ): Promise<DatasetKey & { key: string }> {
    let n = 0;
    for await (const _ of this.store.auxScan(dataset, KEYS_NS)) {
      if (++n >= MAX_KEYS_PER_DATASET)
        throw bad(`dataset '${dataset}' has ${MAX_KEYS_PER_DATASET} keys: revoke some first`);
    }
    const id = randomBytes(8).toString('hex');
    const key = `${dataset}~${id}~${randomBytes(16).toString('hex')}`;
    const stored: StoredKey = { id, ...spec, createdAt: new Date().toISOString(), hash: hashKey(key) };
    await this.store.auxPut(dataset, [{ ns: KEYS_NS, key: id, value: JSON.stringify(stored) }], {
      sync: true,
    });
    return { ...publicView(stored), key };
  }

  async list(dataset: string): Promise<DatasetKey[]> {
    const out: DatasetKey[] = [];
    for await (const [, value] of this.store.auxScan(dataset, KEYS_NS))
      out.push(publicView(JSON.parse(value) as StoredKey));
    return out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  /** Revoked at once for every hub on the store (each request reads the entry). */
  async revoke(dataset: string, id: string): Promise<void> {
    if (!/^[0-9a-f]{16}$/.test(id) || (await this.store.auxGet(dataset, KEYS_NS, id)) === undefined)
      throw hubError('KEY_NOT_FOUND', `dataset '${dataset}' has no key '${id}'`);
    await this.store.auxPut(dataset, [{ ns: KEYS_NS, key: id, value: null }], { sync: true });
  }

  /** The key a credential is, if it is one of these; undefined otherwise (the caller answers 401). */
  async resolve(credential: string): Promise<(StoredKey & { dataset: string }) | undefined> {
    const named = parseKeyText(credential);
    if (!named) return undefined;
    let value: string | undefined;
    try {
      value = await this.store.auxGet(named.dataset, KEYS_NS, named.id);
    } catch (err) {
      // no such dataset (any more): the key is unknown, not a 404 of the route
      if ((err as { code?: string }).code === 'DATASET_NOT_FOUND') return undefined;
      throw err;
    }
    if (value === undefined) return undefined;
    const stored = JSON.parse(value) as StoredKey;
    return sameHash(hashKey(credential), stored.hash) ? { ...stored, dataset: named.dataset } : undefined;
  }
}
