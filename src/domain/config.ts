import { readFileSync } from 'node:fs';
import { badRequest } from '../errors.js';
import type { JsonObject } from '../store/types.js';
import { contextText } from './jsonld.js';
import {
  compileFixedSchema,
  compileRecordSchema,
  formatAjvError,
  type ValidationMode,
} from './validation.js';

/** The body of PUT /datasets/{id} (API.md §1), as spec/schemas/dataset-config.json defines it. */
export interface DatasetConfig {
  title?: string;
  uniqueKeys?: string[];
  schema?: object | boolean;
  validationMode?: ValidationMode;
  dedupKey?: string;
  push?: { enabled?: boolean };
  public?: boolean;
  recovery?: boolean;
  quota?: { perDay: number };
  alert?: { inactiveMinutes: number; webhook: string };
  schedule?: { url: string; format?: 'json' | 'ndjson' | 'csv'; everyMinutes: number };
  upstream?: { url: string; dataset: string; key: string };
  /** the dataset's default JSON-LD context (a registered or built-in context's name) */
  context?: string;
  /** Obsrv: one event holding an array of events is split into them */
  extraction_config?: { is_batch_event?: boolean; extraction_key?: string; batch_id?: string };
  /** Obsrv: events are deduplicated on dedup_key within dedup_period seconds */
  dedup_config?: { drop_duplicates?: boolean; dedup_key?: string; dedup_period?: number };
}

const schemaFile = new URL('../../spec/schemas/dataset-config.json', import.meta.url);
const validateConfig = compileFixedSchema(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);

/** Checks a PUT body; the record schema it carries must compile too. */
export function parseDatasetConfig(body: unknown): DatasetConfig {
  if (!validateConfig(body)) {
    const first = validateConfig.errors?.[0];
    throw badRequest('INVALID_CONFIG', first ? formatAjvError(first) : 'invalid dataset configuration');
  }
  const config = body as DatasetConfig;
  if (config.schema !== undefined) compileRecordSchema(config.schema, config.validationMode ?? 'strict');
  if (config.context !== undefined && contextText(config.context) === undefined)
    throw badRequest(
      'CONTEXT_NOT_FOUND',
      `"context": '${config.context}' is not one of the hub's contexts (register it first with PUT /contexts/${config.context})`,
    );
  return config;
}

/** The config as stored: it was checked on the way in, so reading it back needs no second check. */
export function configOf(record: { readonly config: JsonObject }): DatasetConfig {
  return record.config as DatasetConfig;
}

export const pushEnabled = (c: DatasetConfig): boolean => c.push?.enabled !== false;
export const recoveryEnabled = (c: DatasetConfig): boolean => c.recovery !== false;

/** What readers see instead of the upstream key. */
export const MASKED_SECRET = '***';

/** The config as shown to readers: secrets of outgoing connections are never echoed. */
export function redactConfig(c: DatasetConfig): DatasetConfig {
  return c.upstream ? { ...c, upstream: { ...c.upstream, key: MASKED_SECRET } } : c;
}

/**
 * A config read back and PUT again carries the mask in place of the upstream key: keep the stored
 * key then, so read-modify-write of a config (the console's push toggle) never loses it.
 */
export function keepMaskedSecrets(next: DatasetConfig, stored: DatasetConfig | undefined): DatasetConfig {
  if (next.upstream?.key !== MASKED_SECRET || stored?.upstream === undefined) return next;
  return { ...next, upstream: { ...next.upstream, key: stored.upstream.key } };
}
