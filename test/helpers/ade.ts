import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import { call } from './http.js';
import type { TestHub } from './hub.js';

/** The test schema set in the ADE's shape (resources/, types/, enums/ referring to each other). */
export const ADE_SCHEMA_DIR = fileURLToPath(new URL('../fixtures/ade/schemas/', import.meta.url));

/** Every file of a directory as the upload's {path: schema}. */
export function schemaFiles(dir = ADE_SCHEMA_DIR): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.json'))
        out[relative(dir, full).split(sep).join('/')] = JSON.parse(readFileSync(full, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

export function putSchemaSet(hub: TestHub, id: string, body: unknown, method = 'PUT') {
  return call(`${hub.url}/datasets/${id}/schemas`, { method, token: hub.adminToken, body });
}

const formatsModule = addFormatsModule as unknown as FormatsPlugin & { default?: FormatsPlugin };
const addFormats: FormatsPlugin = formatsModule.default ?? formatsModule;

/** A checker for one of the ADE answer shapes of test/fixtures/ade: the list of its errors, [] when it fits. */
export function shapeChecker(file: 'collection.schema.json' | 'batch-results.schema.json') {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(
    JSON.parse(readFileSync(new URL(`../fixtures/ade/${file}`, import.meta.url), 'utf8')) as object,
  );
  return (value: unknown): string[] =>
    validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

export const FARM = { scheme: 'io.example.farms', id: 'farm-1' };
export const OTHER_FARM = { scheme: 'io.example.farms', id: 'farm-2' };

/** A milking visit valid under the test set, at a location, modified at a time. */
export function visit(n: number, location = FARM, modified = '2024-05-02T06:18:03Z', extra: object = {}) {
  return {
    resourceType: 'icarMilkingVisitEventResource',
    id: `mv-${n}`,
    animal: { id: `528000000000${String(n).padStart(3, '0')}`, scheme: 'eu.animalId' },
    eventDateTime: '2024-05-02T06:11:42Z',
    milkingStartingDateTime: '2024-05-02T06:11:42Z',
    milkingType: 'Automated',
    milkingMilkWeight: { unitCode: 'KGM', value: 12.5 },
    location,
    meta: { source: 'com.example.robot', sourceId: `mv-${n}`, modified, validFrom: null, validTo: null },
    ...extra,
  };
}
