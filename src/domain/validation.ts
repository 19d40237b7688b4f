import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import { badRequest } from '../errors.js';
import { canonicalJson, hashText } from './canonical.js';

// ajv-formats is CommonJS with a default export; under NodeNext its callable sits on .default
const formatsModule = addFormatsModule as unknown as FormatsPlugin & { default?: FormatsPlugin };
const addFormats: FormatsPlugin = formatsModule.default ?? formatsModule;

export type ValidationMode = 'strict' | 'ignore-new-fields';

/** A compiled dataset schema: answers the first error that counts under the mode, or null. */
export interface RecordValidator {
  (doc: unknown): string | null;
}

/** An ajv instance for user schemas: 2020-12, formats, lenient about unknown keywords users bring. */
function newAjv(allErrors: boolean): Ajv2020 {
  const ajv = new Ajv2020({ allErrors, strict: false, validateFormats: true });
  addFormats(ajv);
  return ajv;
}

/** `#/path keyword message`, the shape users know from Obsrv and ajv's own CLI. */
export function formatAjvError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '#' : `#${e.instancePath}`;
  return `${where} ${e.message ?? e.keyword}`.trim();
}

const cache = new Map<string, RecordValidator>();
const CACHE_MAX = 512;

/**
 * Compiles a dataset schema once per distinct (schema, mode); every request of that dataset reuses
 * it. A schema ajv cannot compile is a 400 at PUT time, never at push time.
 */
export function compileRecordSchema(schema: unknown, mode: ValidationMode): RecordValidator {
  const id = hashText(`${mode}\n${canonicalJson(schema)}`);
  const hit = cache.get(id);
  if (hit) return hit;
  let validate: ValidateFunction;
  try {
    // a fresh instance per schema: users' $id values must not collide across datasets
    validate = newAjv(mode === 'ignore-new-fields').compile(schema as object);
  } catch (err) {
    throw badRequest('INVALID_SCHEMA', `schema does not compile: ${(err as Error).message}`);
  }
  const validator: RecordValidator = (doc) => {
    if (validate(doc)) return null;
    const errors = validate.errors ?? [];
    const counted =
      mode === 'ignore-new-fields'
        ? errors.filter((e) => e.keyword !== 'additionalProperties' && e.keyword !== 'unevaluatedProperties')
        : errors;
    return counted.length === 0 ? null : formatAjvError(counted[0]!);
  };
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(id, validator);
  return validator;
}

/** For the hub's own envelopes and configs: compiled once at start-up, every error reported. */
export function compileFixedSchema(schema: object): ValidateFunction {
  return newAjv(true).compile(schema);
}
