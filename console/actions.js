// @ts-check
/** What the admin token can do from the console, each through the hub's documented admin routes. */
import { api, isObject, readableDatasets, seg } from './api.js';

/** @typedef {{ pushKey: string, readKey: string }} Keys */

const DATASET_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** @param {unknown} v @returns {Keys} */
function keysOf(v) {
  if (isObject(v) && typeof v.pushKey === 'string' && typeof v.readKey === 'string')
    return { pushKey: v.pushKey, readKey: v.readKey };
  throw new Error('the hub did not answer with keys');
}

/**
 * PUT /datasets/{id} for a new dataset. PUT also replaces an existing dataset's config, so the id
 * is checked first: the create form must never overwrite a dataset by a typo.
 * @param {string} id @param {Record<string, unknown>} config @returns {Promise<Keys>}
 */
export async function createDataset(id, config) {
  if (!DATASET_ID.test(id))
    throw new Error('An id is 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit.');
  // the admin's list has every dataset (a GET of a missing one would log a 404 in the browser)
  if ((await readableDatasets()).includes(id)) throw new Error(`A dataset '${id}' exists already.`);
  const r = await api(`/datasets/${seg(id)}`, { method: 'PUT', body: config });
  if (r.status !== 201)
    throw new Error(`A dataset '${id}' was created meanwhile; its settings were replaced.`);
  return keysOf(r.json);
}

/**
 * Turns push on or off. PUT replaces the whole config, so the current one is read first and sent
 * back with only `push.enabled` changed.
 * @param {string} id @param {boolean} enabled
 */
export async function setPush(id, enabled) {
  const detail = (await api(`/datasets/${seg(id)}`)).json;
  const config = isObject(detail) ? detail.config : undefined;
  if (!isObject(config)) throw new Error('Only the admin token can change a dataset.');
  // an upstream key comes back masked; the hub keeps the stored key when the mask is sent back
  const push = isObject(config.push) ? config.push : {};
  await api(`/datasets/${seg(id)}`, { method: 'PUT', body: { ...config, push: { ...push, enabled } } });
}

/** @param {string} id @returns {Promise<Keys>} */
export async function renewKeys(id) {
  return keysOf((await api(`/datasets/${seg(id)}/keys/renew`, { method: 'POST' })).json);
}

/** Rebuilds the dataset from its receive log (answers when done). @param {string} id */
export async function recover(id) {
  return (await api(`/datasets/${seg(id)}/recover`, { method: 'POST' })).json;
}

/** Runs the dataset's scheduled pull now. @param {string} id */
export async function runSchedule(id) {
  return (await api(`/datasets/${seg(id)}/schedule/run`, { method: 'POST' })).json;
}
