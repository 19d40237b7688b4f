// @ts-check
/**
 * Talking to the hub: same origin only, the signed-in key as a bearer header on every call, errors
 * in the hub's body (`{"error":{"code","message"}}`) turned into ApiError.
 */

const KEY_ITEM = 'hub.console.key';

/** The key kept for this browser tab (session storage: gone when the tab closes). */
export function storedKey() {
  return sessionStorage.getItem(KEY_ITEM) ?? undefined;
}

/** @param {string} key */
export function storeKey(key) {
  sessionStorage.setItem(KEY_ITEM, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_ITEM);
}

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/**
 * @typedef {object} Reply
 * @property {number} status
 * @property {Headers} headers
 * @property {unknown} json
 */

/**
 * @typedef {object} CallOptions
 * @property {string} [method]
 * @property {unknown} [body] sent as JSON
 * @property {string} [key] instead of the stored key (signing in)
 * @property {AbortSignal} [signal]
 */

/** @param {unknown} v @returns {v is Record<string, unknown>} */
export function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * @param {string} path a path of this hub, already encoded
 * @param {CallOptions} [options]
 * @returns {Promise<Reply>}
 */
export async function api(path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  const key = options.key ?? storedKey();
  if (key) headers.authorization = `Bearer ${key}`;
  /** @type {string | undefined} */
  let body;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(path, {
    method: options.method ?? 'GET',
    headers,
    body,
    signal: options.signal,
    cache: 'no-store',
    credentials: 'omit',
  });
  const text = await res.text();
  /** @type {unknown} */
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const error = isObject(json) && isObject(json.error) ? json.error : {};
    throw new ApiError(
      res.status,
      typeof error.code === 'string' ? error.code : `HTTP_${res.status}`,
      typeof error.message === 'string' ? error.message : res.statusText || `HTTP ${res.status}`,
    );
  }
  return { status: res.status, headers: res.headers, json };
}

/** A dataset id as a path segment. */
export const seg = encodeURIComponent;

/**
 * GET /datasets/{id}: the ICAR list item plus figures, `config` (admin only) and one object per
 * background job reporting on the dataset (alert, schedule, forwarding, fullSync…).
 * @typedef {object} DatasetDetail
 * @property {string} name
 * @property {string | null} title
 * @property {number} count
 * @property {number} lastSeq
 * @property {string | null} lastPushAt
 * @property {{ enabled: boolean }} push
 * @property {boolean} public
 * @property {string} createdAt
 * @property {string[]} containedTypes
 * @property {Record<string, unknown>} [config]
 */

/** @typedef {{ role: 'admin' | 'push' | 'read' | 'anonymous', dataset?: string }} Who */

/** @param {string} name @returns {Promise<DatasetDetail>} */
export async function datasetDetail(name) {
  return /** @type {DatasetDetail} */ ((await api(`/datasets/${seg(name)}`)).json);
}

/** @returns {Promise<string[]>} names of the datasets the key may read */
export async function readableDatasets() {
  const list = (await api('/datasets')).json;
  if (!Array.isArray(list)) return [];
  return list.flatMap((d) => (isObject(d) && typeof d.name === 'string' ? [d.name] : []));
}
