import { isHubError } from '../errors.js';
import type { DatasetRecord, JsonObject, Store } from '../store/types.js';

/**
 * Background work keeps its durable status in the dataset's attrs under `ops.<part>`: it survives
 * restarts, travels with the dataset record (GET /datasets/{id} reads it without another lookup)
 * and disappears with the dataset.
 */
export type OpsPart = 'alert' | 'schedule' | 'lease';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function opsStatus(d: { readonly attrs: JsonObject }, part: OpsPart): JsonObject {
  const ops = d.attrs.ops;
  if (!isObject(ops)) return {};
  const s = ops[part];
  return isObject(s) ? s : {};
}

/**
 * Read-modify-write of one part inside the dataset's writer. `fn` gets the current status and
 * returns the next one. Resolves to undefined when the dataset is gone (deleted meanwhile).
 */
export async function updateOpsStatus(
  store: Store,
  name: string,
  part: OpsPart,
  fn: (current: JsonObject) => JsonObject,
): Promise<DatasetRecord | undefined> {
  try {
    return await store.updateAttrs(name, (attrs) => {
      const ops = isObject(attrs.ops) ? attrs.ops : {};
      const current = isObject(ops[part]) ? ops[part] : {};
      return { ...attrs, ops: { ...ops, [part]: fn(current) } };
    });
  } catch (err) {
    if (isHubError(err) && err.status === 404) return undefined;
    throw err;
  }
}

export const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();
