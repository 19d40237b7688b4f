import { call } from './http.js';
import type { TestHub } from './hub.js';

export interface DatasetKeys {
  readonly pushKey: string;
  readonly readKey: string;
}

let counter = 0;
/** A dataset id unique within the test run. */
export function uniqueId(prefix = 'ds'): string {
  counter++;
  return `${prefix}-${process.pid}-${counter}`;
}

/** Creates a dataset through the admin API and returns its keys. */
export async function createDataset(hub: TestHub, id: string, config: object = {}): Promise<DatasetKeys> {
  const r = await call(`${hub.url}/datasets/${id}`, { method: 'PUT', token: hub.adminToken, body: config });
  if (r.status !== 201) throw new Error(`create ${id}: ${r.status} ${r.text}`);
  const { pushKey, readKey } = r.json as DatasetKeys;
  return { pushKey, readKey };
}

export const CONTEXT = { id: '@context', namespaces: { icar: 'http://data.adewg.icar.org/core/' } };

/** A realistic ICAR milking visit resource (about 600 bytes). */
export function milking(
  i: number,
  source = 'com.example.robot',
  extra: object = {},
): Record<string, unknown> {
  const id = `mv-${i}`;
  return {
    resourceType: 'icarMilkingVisitEventResource',
    id,
    animal: { id: `5280000${String(i % 1000).padStart(8, '0')}`, scheme: 'eu.animalId' },
    eventDateTime: '2024-05-02T06:11:42Z',
    milkingStartingDateTime: '2024-05-02T06:11:42Z',
    milkingDuration: { unitCode: 'SEC', value: 300 + (i % 200) },
    milkingType: 'Automated',
    milkingMilkWeight: { unitCode: 'KGM', value: 10 + (i % 70) / 10 },
    milkingComplete: true,
    milkingBoxNumber: String(1 + (i % 4)),
    milkingDeviceId: `robot-${1 + (i % 4)}`,
    quarterMilkings: [
      { icarQuarterId: 'LF', quarterMilkingWeight: { unitCode: 'KGM', value: 3.2 } },
      { icarQuarterId: 'RR', quarterMilkingWeight: { unitCode: 'KGM', value: 3.6 } },
    ],
    location: { id: 'farm-0042', scheme: 'io.mimiro.data.locations' },
    meta: { source, sourceId: id, modified: '2024-05-02T06:18:03Z' },
    ...extra,
  };
}

/** Pushes ICAR resources (the context element is added) and returns the reply. */
export function pushResources(hub: TestHub, id: string, key: string, resources: unknown[]) {
  return call(`${hub.url}/datasets/${id}/resources`, { token: key, body: [CONTEXT, ...resources] });
}

/** Reads a whole /changes feed (JSON array) and splits it into context, items and continuation. */
export async function readChanges(
  hub: TestHub,
  id: string,
  key: string,
  query = '',
): Promise<{
  status: number;
  headers: Headers;
  context: Record<string, unknown>;
  items: Record<string, unknown>[];
  token: string;
}> {
  const r = await call(`${hub.url}/datasets/${id}/changes${query ? `?${query}` : ''}`, { token: key });
  if (r.status !== 200) throw new Error(`changes ${id}: ${r.status} ${r.text}`);
  const arr = r.json as Record<string, unknown>[];
  const context = arr[0]!;
  const cont = arr[arr.length - 1]!;
  return {
    status: r.status,
    headers: r.headers,
    context,
    items: arr.slice(1, -1),
    token: cont.token as string,
  };
}
