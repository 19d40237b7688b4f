import jsonld from 'jsonld';
import { hubError } from '../errors.js';
import { toJsonLdError, type DocumentLoader } from './jsonld-loader.js';

/**
 * The JSON-LD API's operations as the utility routes offer them (POST /jsonld/{verb}), with
 * jsonld.js's options taken from the body next to the document. Pure: request text in, answer
 * text out, so that it runs in a worker thread (src/domain/jsonld-pool.ts) and the main event loop
 * never parses, processes or serialises a client's JSON-LD.
 */
export const VERBS = ['expand', 'compact', 'flatten', 'frame', 'toRDF', 'fromRDF', 'canonize'] as const;
export type Verb = (typeof VERBS)[number];

export const N_QUADS = 'application/n-quads';
export const LD_JSON = 'application/ld+json';

type Check = (v: unknown) => boolean;
const isBool: Check = (v) => typeof v === 'boolean';
const oneOf =
  (...allowed: string[]): Check =>
  (v) =>
    typeof v === 'string' && allowed.includes(v);
const isContextValue: Check = (v) =>
  typeof v === 'string' || (typeof v === 'object' && v !== null) || v === null;

/** Every option a route takes, with what its value may be (jsonld.js's own meanings). */
const OPTION_CHECKS: Record<string, { check: Check; expected: string }> = {
  base: { check: (v) => typeof v === 'string' || v === null, expected: 'an IRI string or null' },
  expandContext: { check: isContextValue, expected: 'a context (object, array or name/URL)' },
  processingMode: { check: oneOf('json-ld-1.0', 'json-ld-1.1'), expected: '"json-ld-1.0" or "json-ld-1.1"' },
  compactArrays: { check: isBool, expected: 'true or false' },
  compactToRelative: { check: isBool, expected: 'true or false' },
  graph: { check: isBool, expected: 'true or false' },
  skipExpansion: { check: isBool, expected: 'true or false' },
  embed: { check: oneOf('@always', '@once', '@never'), expected: '"@always", "@once" or "@never"' },
  explicit: { check: isBool, expected: 'true or false' },
  requireAll: { check: isBool, expected: 'true or false' },
  omitDefault: { check: isBool, expected: 'true or false' },
  omitGraph: { check: isBool, expected: 'true or false' },
  produceGeneralizedRdf: { check: isBool, expected: 'true or false' },
  rdfDirection: { check: oneOf('i18n-datatype'), expected: '"i18n-datatype"' },
  useRdfType: { check: isBool, expected: 'true or false' },
  useNativeTypes: { check: isBool, expected: 'true or false' },
  algorithm: { check: oneOf('RDFC-1.0', 'URDNA2015'), expected: '"RDFC-1.0" or "URDNA2015"' },
};

const EXPANSION = ['base', 'expandContext', 'processingMode'];
const COMPACTION = ['compactArrays', 'compactToRelative'];

/** Which options apply to which verb; anything else in a wrapper body is a 400, not ignored. */
const OPTIONS_OF: Record<Verb, readonly string[]> = {
  expand: EXPANSION,
  compact: [...EXPANSION, ...COMPACTION, 'graph', 'skipExpansion'],
  flatten: [...EXPANSION, ...COMPACTION],
  frame: [...EXPANSION, ...COMPACTION, 'embed', 'explicit', 'requireAll', 'omitDefault', 'omitGraph'],
  toRDF: [...EXPANSION, 'skipExpansion', 'produceGeneralizedRdf', 'rdfDirection'],
  fromRDF: ['useRdfType', 'useNativeTypes', 'rdfDirection'],
  canonize: [...EXPANSION, 'skipExpansion', 'algorithm'],
};

/** The members of a wrapper body besides the options: what each verb is given. */
const INPUTS_OF: Record<
  Verb,
  { readonly required: readonly string[]; readonly optional: readonly string[] }
> = {
  expand: { required: ['document'], optional: [] },
  compact: { required: ['document', 'context'], optional: [] },
  flatten: { required: ['document'], optional: ['context'] },
  frame: { required: ['document', 'frame'], optional: [] },
  toRDF: { required: ['document'], optional: [] },
  fromRDF: { required: ['document'], optional: [] },
  canonize: { required: ['document'], optional: [] },
};

/** Verbs whose body may be the bare document (today's expand body): no wrapper needed. */
const BARE_DOCUMENT: ReadonlySet<Verb> = new Set(['expand', 'flatten', 'toRDF', 'canonize']);

export interface VerbRequest {
  readonly input: unknown;
  readonly context?: unknown;
  readonly frame?: unknown;
  readonly options: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A body is the wrapper `{"document": …, <inputs>, <options>}` when it has a `document` member
 * and nothing but the verb's inputs and options; otherwise, for the verbs that allow it, it is the
 * document itself (a JSON-LD document never needs a bare `document` key next to only option
 * names). N-Quads text (fromRDF, canonize) is its own input.
 */
export function readVerbRequest(verb: Verb, body: unknown): VerbRequest {
  const inputs = INPUTS_OF[verb];
  const allowed = new Set([...inputs.required, ...inputs.optional, ...OPTIONS_OF[verb]]);
  const wrapped = isObject(body) && 'document' in body && Object.keys(body).every((k) => allowed.has(k));
  if (!wrapped) {
    if (typeof body === 'string' && (verb === 'fromRDF' || verb === 'canonize'))
      return { input: body, options: {} };
    if (BARE_DOCUMENT.has(verb)) return { input: body, options: {} };
    const names = [...inputs.required, ...inputs.optional].map((n) => `"${n}"`).join(', ');
    const unknown = isObject(body) ? Object.keys(body).filter((k) => !allowed.has(k)) : [];
    throw hubError(
      'INVALID_REQUEST',
      unknown.length > 0 && isObject(body) && 'document' in body
        ? `"${unknown[0]}" is not an option of ${verb} (its options: ${OPTIONS_OF[verb].join(', ')})`
        : `the body must be {${names}, <options>} (options: ${OPTIONS_OF[verb].join(', ')})`,
    );
  }
  for (const name of inputs.required)
    if (body[name] === undefined) throw hubError('INVALID_REQUEST', `"${name}" is missing`);
  const options: Record<string, unknown> = {};
  for (const name of OPTIONS_OF[verb]) {
    if (!(name in body)) continue;
    const spec = OPTION_CHECKS[name]!;
    if (!spec.check(body[name]))
      throw hubError('INVALID_OPTION', `option "${name}" must be ${spec.expected}`, { option: name });
    options[name] = body[name];
  }
  if (verb === 'fromRDF' && typeof body.document !== 'string')
    throw hubError('INVALID_REQUEST', '"document" must be N-Quads text for fromRDF');
  return { input: body.document, context: body.context, frame: body.frame, options };
}

export interface VerbAnswer {
  readonly text: string;
  readonly contentType: string;
}

/**
 * jsonld.js's API, loosely typed: @types/jsonld predates jsonld.js 9 (it lacks RDFC-1.0, the
 * frame options and `safe`); every value passed was checked above against jsonld.js's own docs.
 */
const api = jsonld as unknown as Record<Verb, (...args: unknown[]) => Promise<unknown>>;

/** Runs one verb with the hub's offline loader; jsonld.js's failures as 400s. */
export async function runVerb(verb: Verb, request: VerbRequest, loader: DocumentLoader): Promise<VerbAnswer> {
  const options = { ...request.options, documentLoader: loader };
  const json = (value: unknown): VerbAnswer => ({ text: JSON.stringify(value), contentType: LD_JSON });
  try {
    switch (verb) {
      case 'expand':
        return json(await api.expand(request.input, options));
      case 'compact':
        return json(await api.compact(request.input, request.context, options));
      case 'flatten':
        return json(await api.flatten(request.input, request.context ?? null, options));
      case 'frame':
        return json(await api.frame(request.input, request.frame, options));
      case 'toRDF':
        return {
          text: String(await api.toRDF(request.input, { ...options, format: N_QUADS })),
          contentType: N_QUADS,
        };
      case 'fromRDF':
        return json(await api.fromRDF(request.input, { ...options, format: N_QUADS }));
      case 'canonize': {
        const inputFormat = typeof request.input === 'string' ? { inputFormat: N_QUADS } : {};
        const text = await api.canonize(request.input, {
          algorithm: 'RDFC-1.0',
          ...options,
          ...inputFormat,
          format: N_QUADS,
        });
        return { text: String(text), contentType: N_QUADS };
      }
    }
  } catch (err) {
    throw toJsonLdError(err);
  }
}
