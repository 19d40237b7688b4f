// The package ships a UMD bundle as its `main` and no `exports`: Node's ESM loader sees one
// CommonJS default export, so the names are taken from it.
import odsClient from '@opendatasoft/api-client';
import type { TestHub } from './hub.js';

export const {
  ApiClient,
  fromCatalog,
  textStartWith,
  textSuggest,
  textSearch,
  lower,
  UserError,
  NotFoundError,
} = odsClient;

/** Opendatasoft's own client pointed at the hub: `domain` as a full URL, the key as `ApiKey` auth. */
export function odsClientFor(hub: TestHub, apiKey?: string): InstanceType<typeof ApiClient> {
  return new ApiClient({ domain: hub.url, apiKey, hideDeprecatedWarning: true });
}

/** The client with the raw response handed back (exports that are not JSON: csv, xlsx, parquet…). */
export function rawClientFor(hub: TestHub, apiKey?: string): InstanceType<typeof ApiClient> {
  return new ApiClient({
    domain: hub.url,
    apiKey,
    hideDeprecatedWarning: true,
    interceptResponse: async (r: Response) => ({
      status: r.status,
      type: r.headers.get('content-type'),
      bytes: new Uint8Array(await r.arrayBuffer()),
    }),
  });
}

export interface RawAnswer {
  status: number;
  type: string | null;
  bytes: Uint8Array;
}
