/**
 * Fast JSON-LD expansion of plain data under flat vocabulary contexts, and the rules that keep every
 * field and literal of such data (field names as IRIs, literal types that fit). No jsonld.js here:
 * what this cannot expand, the caller gives to jsonld.js with its loader (src/domain/jsonld-loader.ts).
 */
interface TermDef {
  readonly iri: string;
  /** a datatype IRI the term coerces literal values to */
  readonly type?: string;
}

export interface FlatContext {
  readonly vocab: string;
  readonly terms: ReadonlyMap<string, TermDef>;
  /** terms that alias `@type` */
  readonly typeAliases: ReadonlySet<string>;
}

/** A property name that can only mean a term or a vocabulary-relative IRI (no colon, no keyword). */
const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const KEYWORD_TYPES = new Set(['@id', '@vocab', '@json', '@none']);

/**
 * Reads a context that uses only what a vocabulary needs — `@version`, `@vocab`, prefixes, terms
 * mapped to (compact) IRIs or to `@type`, and term definitions `{"@id", "@type": <datatype>}` —
 * into a lookup table. Anything else (scoped contexts, containers, `@id` coercion…) → undefined:
 * such a context is expanded by jsonld.js only.
 */
export function flatContext(text: string): FlatContext | undefined {
  const ctx = (JSON.parse(text) as { '@context': unknown })['@context'];
  if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx)) return undefined;
  const entries = Object.entries(ctx as Record<string, unknown>);
  const vocab = (ctx as Record<string, unknown>)['@vocab'];
  if (typeof vocab !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(vocab)) return undefined;
  const prefixes = new Map<string, string>();
  for (const [k, v] of entries)
    if (!k.startsWith('@') && typeof v === 'string' && /[/#]$/.test(v)) prefixes.set(k, v);
  const iriOf = (v: string): string | undefined => {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return v;
    const colon = v.indexOf(':');
    const ns = colon > 0 ? prefixes.get(v.slice(0, colon)) : undefined;
    return ns === undefined ? undefined : ns + v.slice(colon + 1);
  };
  const terms = new Map<string, TermDef>();
  const typeAliases = new Set<string>();
  for (const [k, v] of entries) {
    if (k === '@version' || k === '@vocab') continue;
    if (k.startsWith('@') || k.includes(':')) return undefined;
    if (v === '@type') {
      typeAliases.add(k);
      continue;
    }
    if (typeof v === 'string') {
      const iri = iriOf(v);
      if (iri === undefined) return undefined;
      terms.set(k, { iri });
      continue;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    const def = v as Record<string, unknown>;
    if (Object.keys(def).some((d) => d !== '@id' && d !== '@type')) return undefined;
    const iri = typeof def['@id'] === 'string' ? iriOf(def['@id']) : undefined;
    const type =
      def['@type'] === undefined ? undefined : typeof def['@type'] === 'string' ? def['@type'] : null;
    if (iri === undefined || type === null || (type !== undefined && KEYWORD_TYPES.has(type)))
      return undefined;
    const typeIri = type === undefined ? undefined : iriOf(type);
    if (type !== undefined && typeIri === undefined) return undefined;
    terms.set(k, typeIri === undefined ? { iri } : { iri, type: typeIri });
  }
  return { vocab, terms, typeAliases };
}

// ---- nothing vanishes: field names and literal types ---------------------------------------

/**
 * A field name as the last segment of an IRI under a vocabulary: percent-encoded where it is not
 * an IRI character (`odd key` → `odd%20key`, `a:b` → `a%3Ab`), so that every field of plain data
 * maps to a valid IRI and yields a triple. Names of letters, digits, `_`, `.`, `-` stay as they are
 * (what jsonld.js's own `@vocab` concatenation gives for them).
 */
export function fieldName(key: string): string {
  return SIMPLE_KEY.test(key) ? key : encodeURIComponent(key);
}

/**
 * Plain data with every property name a vocabulary term can take as is (see fieldName): what the
 * hub hands jsonld.js for data under a context, so that a name with a space or a colon is not
 * dropped (or read as an IRI scheme). Keywords are left for the caller to judge.
 */
export function encodeFieldNames(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(encodeFieldNames);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const name = k.startsWith('@') ? k : fieldName(k);
    Object.defineProperty(out, name, { value: encodeFieldNames(v), enumerable: true, writable: true });
  }
  return out;
}

const XSD = 'http://www.w3.org/2001/XMLSchema#';
const XSD_DATE = `${XSD}date`;
const XSD_DATETIME = `${XSD}dateTime`;
const LEXICAL_DATE = /^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(Z|[+-]\d{2}:\d{2})?$/;
const LEXICAL_DATETIME =
  /^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;
const LEXICAL_INTEGER = /^[+-]?\d+$/;
const LEXICAL_DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const LEXICAL_DOUBLE = /^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?INF|NaN)$/;

/**
 * The datatype a value coerced to `type` may carry: `type` when the value's lexical form is one
 * of that type's, a near type when it is one of those (a date in a dateTime field is an xsd:date,
 * a date-time in a date field an xsd:dateTime), else undefined — a plain literal rather than an
 * ill-typed one. Datatypes outside XML Schema's date, number and boolean types are the context
 * author's to answer for and are kept.
 */
export function fitType(type: string, value: string | number | boolean): string | undefined {
  if (!type.startsWith(XSD)) return type;
  const local = type.slice(XSD.length);
  const text = String(value);
  switch (local) {
    case 'dateTime':
    case 'date':
      if (typeof value !== 'string') return undefined;
      if (LEXICAL_DATETIME.test(value)) return XSD_DATETIME;
      return LEXICAL_DATE.test(value) ? XSD_DATE : undefined;
    case 'integer':
    case 'int':
    case 'long':
      return typeof value !== 'boolean' && LEXICAL_INTEGER.test(text) ? type : undefined;
    case 'decimal':
      return typeof value !== 'boolean' && LEXICAL_DECIMAL.test(text) ? type : undefined;
    case 'double':
    case 'float':
      return typeof value !== 'boolean' && LEXICAL_DOUBLE.test(text) ? type : undefined;
    case 'boolean':
      return typeof value === 'boolean' || /^(true|false|1|0)$/.test(text) ? type : undefined;
    default:
      return type;
  }
}

/**
 * The same rule over jsonld.js's expanded output (the full algorithm's path): a value object whose
 * coerced type its lexical form does not fit gets the fitting type or none. In place.
 */
export function fitLiteralTypes(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) fitLiteralTypes(v);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const node = value as Record<string, unknown>;
  const v = node['@value'];
  const t = node['@type'];
  if (v !== undefined && typeof t === 'string') {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      const fitting = fitType(t, v);
      if (fitting === undefined) delete node['@type'];
      else node['@type'] = fitting;
    }
    return;
  }
  for (const [k, x] of Object.entries(node)) if (k !== '@context') fitLiteralTypes(x);
}

/** Thrown inside the fast path when the document needs the full algorithm. */
const UNSUPPORTED = Symbol('unsupported');

/**
 * Expands plain JSON data (no JSON-LD keywords, property names without colons) under a flat
 * vocabulary context, producing exactly what jsonld.expand does for it (value objects, datatype
 * coercion, `@type` from its alias, nested objects as nodes, nested arrays flattened, nulls
 * dropped) without its per-call cloning and IRI resolution: several times faster on feeds. Returns
 * undefined for anything outside that subset, which the caller then gives to jsonld.js; the tests
 * compare both on the same documents.
 */
export type FastExpander = (doc: Record<string, unknown>, id: string) => Record<string, unknown> | undefined;

export function fastExpander(
  /** the context document's text */
  text: string,
  options: {
    /** skip properties named like JSON-LD keywords (`@self`, a pushed `@context`…) at every level */
    readonly dropKeywords?: boolean;
  } = {},
): FastExpander | undefined {
  const flat = flatContext(text);
  if (!flat) return undefined;
  const { vocab, terms, typeAliases } = flat;

  const typeIri = (v: unknown): string => {
    if (typeof v !== 'string' || !SIMPLE_KEY.test(v) || typeAliases.has(v)) throw UNSUPPORTED;
    return terms.get(v)?.iri ?? vocab + v;
  };
  const values = (v: unknown, type: string | undefined, out: unknown[]): void => {
    if (v === null) return;
    if (Array.isArray(v)) {
      for (const x of v) values(x, type, out);
    } else if (typeof v === 'object') {
      out.push(node(v as Record<string, unknown>));
    } else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      const fitting = type === undefined ? undefined : fitType(type, v);
      out.push(fitting === undefined ? { '@value': v } : { '@type': fitting, '@value': v });
    } else {
      throw UNSUPPORTED;
    }
  };
  const node = (obj: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    // in jsonld.js's order (sorted keys), so that values merged under one IRI come out the same
    for (const key of Object.keys(obj).sort()) {
      if (key.startsWith('@')) {
        if (options.dropKeywords) continue;
        throw UNSUPPORTED;
      }
      const v = obj[key];
      if (typeAliases.has(key)) {
        // null or [] as a type is jsonld.js's to judge
        if (Array.isArray(v) && v.length === 0) throw UNSUPPORTED;
        const types = Array.isArray(v) ? v.map(typeIri) : [typeIri(v)];
        out['@type'] = [...((out['@type'] as string[] | undefined) ?? []), ...types];
        continue;
      }
      if (v === null) continue;
      const term = terms.get(key);
      const iri = term?.iri ?? vocab + fieldName(key);
      const list: unknown[] = [];
      values(v, term?.type, list);
      const had = out[iri];
      out[iri] = had === undefined ? list : [...(had as unknown[]), ...list];
    }
    return out;
  };

  return (doc, id) => {
    try {
      const out = node(doc);
      return Object.keys(out).length === 0 ? undefined : { '@id': id, ...out };
    } catch (err) {
      if (err === UNSUPPORTED) return undefined;
      throw err;
    }
  };
}
