import { createDataset, uniqueId, type DatasetKeys } from './data.js';
import { call, type Reply } from './http.js';
import { startTestHub, type TestHub } from './hub.js';

/** URLs and calls of the ODS APIs (docs/ods.md), for the test/ods-*.test.ts files. */
export const odsPushUrl = (
  hub: TestHub,
  dataset: string,
  op: 'push' | 'delete' = 'push',
  resource = 'realtime',
) => `${hub.url}/api/push/1.0/${dataset}/${resource}/${op}/`;

export const odsDeleteByIdUrl = (hub: TestHub, dataset: string, recordId: string, resource = 'realtime') =>
  `${hub.url}/api/push/1.0/${dataset}/${resource}/${recordId}/delete/`;

export const exploreUrl = (hub: TestHub, dataset: string, tail: string) =>
  `${hub.url}/api/explore/v2.1/catalog/datasets/${dataset}/${tail}`;

/** POSTs records the way ODS push scripts do: the key in `?pushkey=`, JSON text without a Content-Type. */
export function odsPush(
  hub: TestHub,
  dataset: string,
  pushKey: string,
  records: unknown,
  op: 'push' | 'delete' = 'push',
): Promise<Reply> {
  return call(`${odsPushUrl(hub, dataset, op)}?pushkey=${pushKey}`, { raw: JSON.stringify(records) });
}

export interface RecordsAnswer {
  total_count: number;
  results: Record<string, unknown>[];
}

/** GET …/records with the given query parameters (URL-encoded here). */
export async function odsRecords(
  hub: TestHub,
  dataset: string,
  key: string,
  params: Record<string, string | number> = {},
): Promise<RecordsAnswer> {
  const qs = new URLSearchParams({
    apikey: key,
    ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])),
  });
  const r = await call(`${exploreUrl(hub, dataset, 'records')}?${qs}`);
  if (r.status !== 200) throw new Error(`records ${dataset}: ${r.status} ${r.text}`);
  return r.json as RecordsAnswer;
}

/** A test hub with one dataset of records: the set-up of most test/ods-*.test.ts files. */
export interface OdsDataset {
  readonly hub: TestHub;
  /** the dataset's id: `prefix` and a unique tail */
  readonly ds: string;
  readonly keys: DatasetKeys;
}

/**
 * Starts a test hub, creates a dataset (`config`; by default records keyed by their `n`) and pushes
 * `rows` into it as an ODS push script does, `perPush` records a request, each answered 200.
 * The caller closes the hub (`hub.close()`).
 */
export async function odsDataset(
  prefix: string,
  rows: readonly unknown[],
  options: { config?: object; perPush?: number } = {},
): Promise<OdsDataset> {
  const hub = await startTestHub();
  try {
    const ds = uniqueId(prefix);
    const keys = await createDataset(hub, ds, options.config ?? { uniqueKeys: ['n'] });
    const per = options.perPush ?? (rows.length || 1);
    for (let i = 0; i < rows.length; i += per) {
      const r = await odsPush(hub, ds, keys.pushKey, rows.slice(i, i + per));
      if (r.status !== 200) throw new Error(`push to ${ds}: ${r.status} ${r.text}`);
    }
    return { hub, ds, keys };
  } catch (err) {
    await hub.close();
    throw err;
  }
}
