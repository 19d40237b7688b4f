import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import { hubError } from '../errors.js';
import { canonicalJson, hashText } from './canonical.js';

// ajv-formats is CommonJS with a default export; under NodeNext its callable sits on .default
const formatsModule = addFormatsModule as unknown as FormatsPlugin & { default?: FormatsPlugin };
const addFormats: FormatsPlugin = formatsModule.default ?? formatsModule;

export type ValidationMode = 'strict' | 'ignore-new-fields';

/** Why a document does not match its dataset schema: ajv's first error. */
export interface SchemaProblem {
  /** JSON pointer of the offending value inside the document ('' = the document itself) */
  readonly path: string;
  /** the JSON Schema keyword that failed (type, required, additionalProperties…) */
  readonly keyword: string;
  /** `#<path> <ajv message>`, e.g. `#/ets must be integer` */
  readonly message: string;
}

/** A compiled dataset schema: every problem with a document (at most MAX_PROBLEMS), none when it matches. */
export interface RecordValidator {
  (doc: unknown): SchemaProblem[];
}

/** A refused request lists at most this many problems (all of its elements together). */
export const MAX_PROBLEMS = 100;

/** ajv's errors as problems, at most MAX_PROBLEMS. */
export function problemsOf(errors: readonly ErrorObject[] | null | undefined): SchemaProblem[] {
  if (!errors || errors.length === 0)
    return [{ path: '', keyword: 'false', message: '# does not match the schema' }];
  return errors
    .slice(0, MAX_PROBLEMS)
    .map((e) => ({ path: e.instancePath, keyword: e.keyword, message: formatAjvError(e) }));
}

/** An ajv instance for user schemas: 2020-12, formats, lenient about unknown keywords users bring. */
export function newAjv(allErrors: boolean): Ajv2020 {
  const ajv = new Ajv2020({ allErrors, strict: false, validateFormats: true });
  addFormats(ajv);
  return ajv;
}

/** ajv says "must NOT have additional properties" without naming one; the name is what users need. */
function detailOf(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return ` ('${String(p.additionalProperty)}')`;
  if (e.keyword === 'unevaluatedProperties') return ` ('${String(p.unevaluatedProperty)}')`;
  if (e.keyword === 'enum' && Array.isArray(p.allowedValues)) {
    const allowed = JSON.stringify(p.allowedValues);
    return allowed.length <= 200 ? `: ${allowed}` : '';
  }
  return '';
}

/** `#/path message`, the shape users know from ajv's own CLI, naming the offending property. */
export function formatAjvError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '#' : `#${e.instancePath}`;
  return `${where} ${e.message ?? e.keyword}${detailOf(e)}`.trim();
}

// ---- ignore-new-fields ----------------------------------------------------------------------------

/** Keywords (JSON Schema 2020-12 and draft 7) whose value is a subschema, a map or a list of them. */
const SUBSCHEMA = new Set([
  'additionalProperties',
  'unevaluatedProperties',
  'items',
  'additionalItems',
  'unevaluatedItems',
  'contains',
  'propertyNames',
  'then',
  'else',
]);
const SUBSCHEMA_MAP = new Set([
  'properties',
  'patternProperties',
  '$defs',
  'definitions',
  'dependentSchemas',
  // draft 7: a map of subschemas or of property-name lists (lists pass through openObjects as is)
  'dependencies',
]);
const SUBSCHEMA_LIST = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `ignore-new-fields` (docs/datasets.md#validation): a document passes when its only violations are fields
 * the schema does not declare. Rather than validating with every error and filtering (which misses closed
 * objects inside oneOf/anyOf branches, whose failure surfaces as a `oneOf` error), the schema itself is
 * opened: every `additionalProperties: false` / `unevaluatedProperties: false` in a positive position is
 * dropped. Under `not` and `if` the schema is kept as written: there "closed" is a condition, not a
 * constraint, and removing it would invert its meaning.
 */
export function openObjects(schema: unknown): unknown {
  if (!isPlainObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if ((k === 'additionalProperties' || k === 'unevaluatedProperties') && v === false) continue;
    if (SUBSCHEMA.has(k)) out[k] = Array.isArray(v) ? v.map(openObjects) : openObjects(v);
    else if (SUBSCHEMA_MAP.has(k) && isPlainObject(v))
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, openObjects(s)]));
    else if (SUBSCHEMA_LIST.has(k) && Array.isArray(v)) out[k] = v.map(openObjects);
    else out[k] = v;
  }
  return out;
}

// ---- compile once ---------------------------------------------------------------------------------

/** By the identity of the schema object a dataset config holds: no hashing on the request path. */
const bySchemaObject = new WeakMap<object, Partial<Record<ValidationMode, RecordValidator>>>();
/** By content: identical schemas share one compilation, and a restarted hub compiles each once. */
const byContent = new Map<string, RecordValidator>();
const CACHE_MAX = 512;
let compilations = 0;

/** How many dataset schemas this process has compiled (tests check that requests compile none). */
export const schemaCompilations = (): number => compilations;

function compile(schema: unknown, mode: ValidationMode): RecordValidator {
  // a fresh instance per schema: users' $id values must not collide across datasets
  const effective = (mode === 'ignore-new-fields' ? openObjects(schema) : schema) as object;
  let validate: ValidateFunction;
  try {
    validate = newAjv(false).compile(effective);
  } catch (err) {
    throw hubError('INVALID_SCHEMA', `schema does not compile: ${(err as Error).message}`);
  }
  compilations++;
  // valid documents take the first-error validator; a refused one is checked again for every
  // problem (compiled on the first refusal), so its first problem is the one ajv reports first
  let everyError: ValidateFunction | undefined;
  return (doc) => {
    if (validate(doc)) return [];
    everyError ??= newAjv(true).compile(effective);
    everyError(doc);
    const all = problemsOf(everyError.errors);
    const first = problemsOf(validate.errors)[0]!;
    return [first, ...all.filter((p) => p.message !== first.message)].slice(0, MAX_PROBLEMS);
  };
}

/**
 * The validator of a dataset schema under a mode. A dataset's config object (and so its schema
 * object) stays the same until the config is replaced, so requests find their validator by identity
 * and only a config change compiles again; a schema ajv cannot compile is a 400 at PUT time, never at
 * push time.
 */
export function compileRecordSchema(schema: unknown, mode: ValidationMode): RecordValidator {
  const holder = isPlainObject(schema) ? bySchemaObject.get(schema) : undefined;
  const known = holder?.[mode];
  if (known) return known;
  const id = hashText(`${mode}\n${canonicalJson(schema)}`);
  let validator = byContent.get(id);
  if (!validator) {
    validator = compile(schema, mode);
    if (byContent.size >= CACHE_MAX) byContent.delete(byContent.keys().next().value!);
    byContent.set(id, validator);
  }
  if (isPlainObject(schema)) bySchemaObject.set(schema, { ...holder, [mode]: validator });
  return validator;
}

/** For the hub's own envelopes and configs: compiled once at start-up, every error reported. */
export function compileFixedSchema(schema: object): ValidateFunction {
  return newAjv(true).compile(schema);
}
