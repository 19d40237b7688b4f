import { readFileSync } from 'node:fs';
import { hubError } from '../errors.js';
import type { JsonObject } from '../store/types.js';
import type { ContextLookup } from './jsonld-loader.js';
import { checkScheduleTiming, type ScheduleTiming } from './schedule.js';
import {
  compileFixedSchema,
  compileRecordSchema,
  formatAjvError,
  type ValidationMode,
} from './validation.js';

/**
 * The body of PUT /datasets/{id} (docs/datasets.md#datasets), as spec/schemas/dataset-config.json defines it.
 */
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
  schedule?: ScheduleConfig;
  upstream?: { url: string; dataset: string; key: string };
  /** ICAR pushes: what a resource must carry, and what a resourceType without a schema in the set means */
  icar?: { unknownResourceType?: 'refuse' | 'pass'; requireLocation?: boolean; requireModified?: boolean };
  /** the dataset's default JSON-LD context (a registered or built-in context's name) */
  context?: string;
  /** Obsrv: one event holding an array of events is split into them */
  extraction_config?: { is_batch_event?: boolean; extraction_key?: string; batch_id?: string };
  /** Obsrv: events are deduplicated on dedup_key within dedup_period seconds */
  dedup_config?: { drop_duplicates?: boolean; dedup_key?: string; dedup_period?: number };
}

/** A scheduled pull: where from (HTTP(S) or FTP(S)), in which format, and when (domain/schedule.ts). */
export interface ScheduleConfig extends ScheduleTiming {
  url: string;
  format?: 'json' | 'ndjson' | 'csv';
  /** credentials of the remote resource, when not in the URL; never shown back */
  username?: string;
  password?: string;
}

const schemaFile = new URL('../../spec/schemas/dataset-config.json', import.meta.url);
let compiledConfig: ReturnType<typeof compileFixedSchema> | undefined;
/** Read and compiled on first use, not on import. */
const configValidator = (): ReturnType<typeof compileFixedSchema> =>
  (compiledConfig ??= compileFixedSchema(JSON.parse(readFileSync(schemaFile, 'utf8')) as object));

/** Checks a PUT body; the record schema it carries must compile too. */
/** A config as PUT, checked; its `context` must be one of `contexts`. */
export function parseDatasetConfig(body: unknown, contexts: ContextLookup): DatasetConfig {
  const validateConfig = configValidator();
  if (!validateConfig(body)) {
    const first = validateConfig.errors?.[0];
    if (!first) throw hubError('INVALID_CONFIG', 'invalid dataset configuration');
    // the field at fault as a JSON pointer: the property itself when the error is about one
    const params = first.params as { additionalProperty?: string; missingProperty?: string };
    const prop = params.additionalProperty ?? params.missingProperty;
    const field = prop === undefined ? first.instancePath : `${first.instancePath}/${prop}`;
    throw hubError('INVALID_CONFIG', formatAjvError(first), { field: field === '' ? '/' : field });
  }
  const config = body as DatasetConfig;
  if (config.schema !== undefined) compileRecordSchema(config.schema, config.validationMode ?? 'strict');
  if (config.context !== undefined && contexts.text(config.context) === undefined)
    throw hubError(
      'UNKNOWN_CONTEXT',
      `"context": '${config.context}' is not one of the hub's contexts (register it first with PUT /contexts/${config.context})`,
    );
  if (config.schedule) checkSchedule(config.schedule);
  return config;
}

function checkSchedule(schedule: ScheduleConfig): void {
  if (!URL.canParse(schedule.url) || new URL(schedule.url).hostname === '') {
    throw hubError('INVALID_CONFIG', `#/schedule/url is not a valid URL`, { field: '/schedule/url' });
  }
  checkScheduleTiming(schedule);
}

/** The config as stored: it was checked on the way in, so reading it back needs no second check. */
export function configOf(record: { readonly config: JsonObject }): DatasetConfig {
  return record.config as DatasetConfig;
}

export const pushEnabled = (c: DatasetConfig): boolean => c.push?.enabled !== false;
export const recoveryEnabled = (c: DatasetConfig): boolean => c.recovery !== false;

/** What readers see instead of the upstream key, the pull's password and a URL's password. */
export const MASKED_SECRET = '***';

/** `url` with its password (if any) replaced by the mask. */
export function maskUrlPassword(url: string): string {
  if (!URL.canParse(url)) return url;
  const u = new URL(url);
  if (u.password === '') return url;
  u.password = MASKED_SECRET;
  return u.toString();
}

/** The config as shown to readers: secrets of outgoing connections are never echoed. */
export function redactConfig(c: DatasetConfig): DatasetConfig {
  let out = c;
  if (c.upstream) out = { ...out, upstream: { ...c.upstream, key: MASKED_SECRET } };
  if (c.schedule) {
    const schedule: ScheduleConfig = { ...c.schedule, url: maskUrlPassword(c.schedule.url) };
    if (schedule.password !== undefined) schedule.password = MASKED_SECRET;
    out = { ...out, schedule };
  }
  return out;
}

/**
 * A config read back and PUT again carries the mask in place of its secrets: keep the stored ones
 * then, so read-modify-write of a config (the console's push toggle) never loses them. A URL's
 * password is kept only when the rest of the URL is the stored one's.
 */
export function keepMaskedSecrets(next: DatasetConfig, stored: DatasetConfig | undefined): DatasetConfig {
  let out = next;
  if (next.upstream?.key === MASKED_SECRET && stored?.upstream !== undefined) {
    out = { ...out, upstream: { ...next.upstream, key: stored.upstream.key } };
  }
  const schedule = next.schedule;
  const before = stored?.schedule;
  if (schedule && before) {
    const kept: ScheduleConfig = { ...schedule };
    if (schedule.password === MASKED_SECRET && before.password !== undefined) kept.password = before.password;
    if (maskUrlPassword(before.url) === schedule.url && before.url !== schedule.url) kept.url = before.url;
    out = { ...out, schedule: kept };
  }
  return out;
}
