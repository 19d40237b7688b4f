import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import { hubError } from '../errors.js';
import type { AuxWrite, DatasetRecord, JsonObject, Store } from '../store/types.js';
import { problemsOf, type RecordValidator, type SchemaProblem } from './validation.js';
import { fromOpenApi } from './validation-openapi.js';

const formatsModule = addFormatsModule as unknown as FormatsPlugin & { default?: FormatsPlugin };
const addFormats: FormatsPlugin = formatsModule.default ?? formatsModule;

/**
 * A dataset's schema set (docs/icar.md#schema-sets): schema files that `$ref` each other by relative
 * path or by `$id`, as the ICAR ADE publishes them (resources/, types/, collections/, enums/). Each
 * resource is checked against the schema of its `resourceType`. The set lives in the store (aux
 * entries of the dataset, one per file, written with the set's version in one atomic append) and is
 * compiled once per dataset and version: nothing is fetched, a `$ref` to a file not in the set is a
 * 400 at upload.
 */

/** Aux namespace of the set: `manifest` and one `file:<path>` entry per schema file. */
const NS = 'schema-set';
const MANIFEST = 'manifest';
const FILE = 'file:';
/** The attr that names the set's version: bumped by every upload, the key of the compiled cache. */
const VERSION_ATTR = 'schemaSetVersion';

/** Files without a `$id` of their own are known by this base plus their path. */
const BASE = 'https://schema-set.hub.invalid/';
const MAX_FILES = 2000;
const PATH_RE = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export interface SchemaSetUpload {
  /** path (relative, `/`-separated) → schema */
  readonly files: Readonly<Record<string, unknown>>;
  /** resourceType → path; a type not named here is the file named after it (`<type>.json`) */
  readonly types?: Readonly<Record<string, string>>;
}

interface Manifest {
  readonly files: string[];
  readonly types: Record<string, string>;
}

/** What GET /datasets/{id}/schemas shows. */
export interface SchemaSetInfo {
  readonly version: number;
  readonly files: string[];
  /** every resourceType with its file: the explicit map over the files named after a type */
  readonly types: Record<string, string>;
}

export interface CompiledSchemaSet {
  readonly version: number;
  /** resourceType → path */
  readonly types: ReadonlyMap<string, string>;
  validator(resourceType: string): RecordValidator | undefined;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const invalidSet = (message: string, field?: string): Error =>
  hubError('INVALID_SCHEMA', message, field === undefined ? {} : { field });

/** `./a/../b/c.json` → `b/c.json`; a path leaving the set's root or with odd characters is a 400. */
export function normalisePath(path: string): string {
  const parts: string[] = [];
  for (const p of path.replace(/\\/g, '/').split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) throw invalidSet(`schema file path '${path}' leaves the set`, path);
      parts.pop();
    } else parts.push(p);
  }
  const out = parts.join('/');
  if (!PATH_RE.test(out) || out.length > 512)
    throw invalidSet(`schema file path '${path}' must be relative, made of [A-Za-z0-9._-] and '/'`, path);
  return out;
}

/** Checks the body of PUT/POST /datasets/{id}/schemas: `{"files": {path: schema}, "types"?: {type: path}}`. */
export function parseSchemaSetUpload(body: unknown): SchemaSetUpload {
  if (!isPlainObject(body) || !isPlainObject(body.files))
    throw invalidSet(
      'the body must be {"files": {"<path>": <schema>, …}, "types"?: {"<resourceType>": "<path>"}}',
    );
  const files: Record<string, unknown> = {};
  for (const [path, schema] of Object.entries(body.files)) {
    if (!isPlainObject(schema)) throw invalidSet(`schema file '${path}' must be a JSON object`, path);
    files[normalisePath(path)] = schema;
  }
  if (Object.keys(files).length > MAX_FILES)
    throw invalidSet(`a schema set holds at most ${MAX_FILES} files`);
  const types: Record<string, string> = {};
  if (body.types !== undefined) {
    if (!isPlainObject(body.types)) throw invalidSet('"types" must map resourceType → file path', 'types');
    for (const [type, path] of Object.entries(body.types)) {
      if (typeof path !== 'string') throw invalidSet(`"types.${type}" must be a file path`, 'types');
      types[type] = normalisePath(path);
    }
  }
  for (const k of Object.keys(body))
    if (k !== 'files' && k !== 'types') throw invalidSet(`unknown member '${k}'`, k);
  return { files, types };
}

/** The set's own ajv: every error, formats, OpenAPI's numeric formats, no warnings in the hub's log. */
function setAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: true, logger: false });
  addFormats(ajv);
  for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password']) ajv.addFormat(f, true);
  return ajv;
}

/** resourceType → path: the files named after a type (resources/ first), then the explicit map over them. */
function typeMap(paths: readonly string[], explicit: Readonly<Record<string, string>>): Map<string, string> {
  const out = new Map<string, string>();
  const ordered = [...paths].sort(
    (a, b) => Number(!a.startsWith('resources/')) - Number(!b.startsWith('resources/')) || a.localeCompare(b),
  );
  for (const p of ordered) {
    const name = p.slice(p.lastIndexOf('/') + 1).replace(/\.json$/, '');
    if (!out.has(name)) out.set(name, p);
  }
  for (const [type, p] of Object.entries(explicit)) out.set(type, p);
  return out;
}

/** Compiles every file of a set (so a bad `$ref` is found now, not at push time). Throws a 400. */
export function compileSchemaSet(
  files: ReadonlyMap<string, unknown>,
  explicitTypes: Readonly<Record<string, string>>,
  version: number,
): CompiledSchemaSet {
  for (const [type, p] of Object.entries(explicitTypes))
    if (!files.has(p))
      throw invalidSet(`"types.${type}" names '${p}', which is not a file of the set`, 'types');
  const ajv = setAjv();
  const idOf = new Map<string, string>();
  for (const [path, schema] of files) {
    const own = (schema as Record<string, unknown>).$id;
    const pathId = BASE + path;
    let id = pathId;
    if (typeof own === 'string') {
      if (!URL.canParse(own, pathId)) throw invalidSet(`'${path}': "$id" is not a URI reference`, path);
      id = new URL(own, pathId).href;
    }
    const transformed = { ...(fromOpenApi(schema) as Record<string, unknown>), $id: id };
    try {
      ajv.addSchema(transformed);
      // known by its path too, so relative refs reach a file that has an $id of its own
      if (id !== pathId) ajv.addSchema({ $id: pathId, $ref: id });
    } catch (err) {
      throw invalidSet(`'${path}': ${(err as Error).message}`, path);
    }
    idOf.set(path, id);
  }
  const compiled = new Map<string, ValidateFunction>();
  for (const [path, id] of idOf) {
    try {
      compiled.set(path, ajv.getSchema(id)!);
    } catch (err) {
      throw invalidSet(`'${path}' does not compile: ${(err as Error).message}`, path);
    }
  }
  const types = typeMap([...files.keys()], explicitTypes);
  const validators = new Map<string, RecordValidator>();
  return {
    version,
    types,
    validator(resourceType) {
      const path = types.get(resourceType);
      if (path === undefined) return undefined;
      let v = validators.get(path);
      if (!v) {
        const validate = compiled.get(path)!;
        v = (doc) => (validate(doc) ? [] : problemsOf(validate.errors));
        validators.set(path, v);
      }
      return v;
    },
  };
}

/** The problems of one document under the set: its type's schema, or the unknown-type rule. */
export function schemaSetProblems(
  set: CompiledSchemaSet,
  doc: unknown,
  unknownType: 'refuse' | 'pass',
): SchemaProblem[] {
  const type = isPlainObject(doc) ? doc.resourceType : undefined;
  const validate = typeof type === 'string' ? set.validator(type) : undefined;
  if (validate) return validate(doc);
  if (unknownType === 'pass') return [];
  const named = typeof type === 'string' ? `'${type}'` : 'missing';
  return [
    {
      path: '/resourceType',
      keyword: 'resourceType',
      message: `#/resourceType ${named} has no schema in the dataset's schema set`,
    },
  ];
}

const CACHE_MAX = 64;
let setCompilations = 0;
/** How many schema sets this process has compiled (tests check that pushes compile none). */
export const schemaSetCompilations = (): number => setCompilations;

/** The schema sets of every dataset: stored through the Store, compiled once per version. */
export class SchemaSets {
  private readonly cache = new Map<string, Promise<CompiledSchemaSet>>();

  constructor(private readonly store: Store) {}

  static versionOf(dataset: DatasetRecord): number | undefined {
    const v = dataset.attrs[VERSION_ATTR];
    return typeof v === 'number' ? v : undefined;
  }

  private cacheKey(dataset: DatasetRecord, version: number): string {
    // createdAt: a dataset deleted and created again under the same name starts from version 1
    return `${dataset.name}\u0000${dataset.createdAt}\u0000${version}`;
  }

  /** The compiled set of the dataset, or undefined when it has none. */
  load(dataset: DatasetRecord): Promise<CompiledSchemaSet | undefined> {
    const version = SchemaSets.versionOf(dataset);
    if (version === undefined) return Promise.resolve(undefined);
    const key = this.cacheKey(dataset, version);
    let p = this.cache.get(key);
    if (!p) {
      p = this.read(dataset.name).then(({ manifest, files }) => {
        setCompilations++;
        return compileSchemaSet(files, manifest.types, version);
      });
      p.catch(() => this.cache.delete(key));
      if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, p);
    }
    return p;
  }

  private async read(name: string): Promise<{ manifest: Manifest; files: Map<string, unknown> }> {
    const text = await this.store.auxGet(name, NS, MANIFEST);
    const manifest: Manifest = text === undefined ? { files: [], types: {} } : (JSON.parse(text) as Manifest);
    const files = new Map<string, unknown>();
    for await (const [key, value] of this.store.auxScan(name, NS)) {
      if (key.startsWith(FILE)) files.set(key.slice(FILE.length), JSON.parse(value));
    }
    return { manifest, files };
  }

  /** The set as stored, for GET. */
  async describe(dataset: DatasetRecord): Promise<SchemaSetInfo | undefined> {
    const version = SchemaSets.versionOf(dataset);
    if (version === undefined) return undefined;
    const { manifest, files } = await this.read(dataset.name);
    return {
      version,
      files: [...files.keys()].sort(),
      types: Object.fromEntries(typeMap([...files.keys()], manifest.types)),
    };
  }

  /**
   * Stores an upload: `replace` makes it the whole set, `merge` adds its files to the stored ones
   * (same path: replaced) and its types to the stored map. The result must compile, else 400 and
   * nothing changes. Files, manifest and the new version are one atomic append.
   */
  async put(dataset: DatasetRecord, upload: SchemaSetUpload, mode: 'replace' | 'merge'): Promise<void> {
    const before = SchemaSets.versionOf(dataset) === undefined ? undefined : await this.read(dataset.name);
    const files = new Map(mode === 'merge' && before ? before.files : []);
    for (const [p, s] of Object.entries(upload.files)) files.set(p, s);
    const types = { ...(mode === 'merge' && before ? before.manifest.types : {}), ...upload.types };
    if (files.size === 0) throw invalidSet('a schema set needs at least one file');
    if (files.size > MAX_FILES) throw invalidSet(`a schema set holds at most ${MAX_FILES} files`);
    const compiled = compileSchemaSet(files, types, 0);
    const aux: AuxWrite[] = [];
    for (const p of before?.files.keys() ?? [])
      if (!files.has(p)) aux.push({ ns: NS, key: FILE + p, value: null });
    for (const [p, s] of files) aux.push({ ns: NS, key: FILE + p, value: JSON.stringify(s) });
    const manifest: Manifest = { files: [...files.keys()].sort(), types };
    aux.push({ ns: NS, key: MANIFEST, value: JSON.stringify(manifest) });
    await this.store.append(dataset.name, {
      writes: [],
      aux,
      touch: false,
      attrs: (current) => ({
        ...current,
        [VERSION_ATTR]: ((current[VERSION_ATTR] as number | undefined) ?? 0) + 1,
      }),
    });
    // the set just compiled is the one the next pushes ask for: no second compilation
    const after = await this.store.getDataset(dataset.name);
    const version = after ? SchemaSets.versionOf(after) : undefined;
    if (after && version !== undefined)
      this.cache.set(this.cacheKey(after, version), Promise.resolve({ ...compiled, version }));
  }

  /** Removes the set; false when there was none. */
  async remove(dataset: DatasetRecord): Promise<boolean> {
    if (SchemaSets.versionOf(dataset) === undefined) return false;
    const aux: AuxWrite[] = [];
    for await (const [key] of this.store.auxScan(dataset.name, NS)) aux.push({ ns: NS, key, value: null });
    await this.store.append(dataset.name, {
      writes: [],
      aux,
      touch: false,
      attrs: (current) => {
        const { [VERSION_ATTR]: _v, ...rest } = current;
        return rest as JsonObject;
      },
    });
    return true;
  }
}
