import { hubError } from '../errors.js';
import type { DatasetRecord } from '../store/types.js';
import { configOf } from './config.js';
import { fieldName } from './jsonld-fast.js';
import type { ContextLookup } from './jsonld-loader.js';

/**
 * A dataset's own JSON-LD vocabulary, for records (ODS pushes, Obsrv events) in format=jsonld:
 * every field is a property under `<hub>/datasets/<id>/fields/` (its name percent-encoded where it
 * is not an IRI character), and the fields whose type the catalog knows are coerced to the XML
 * Schema datatype of that type. A value whose lexical form does not fit is left a plain literal
 * (src/domain/jsonld-fast.ts fitType), so the generated types never make a literal ill-typed.
 */
export function datasetVocab(baseUrl: string, dataset: string): string {
  return `${baseUrl}/datasets/${encodeURIComponent(dataset)}/fields/`;
}

const XSD = 'http://www.w3.org/2001/XMLSchema#';
/** By the ODS field types of src/query/field-types.ts (which the caller infers; the domain does not). */
const DATATYPES: Readonly<Record<string, string>> = {
  int: `${XSD}integer`,
  double: `${XSD}double`,
  boolean: `${XSD}boolean`,
  date: `${XSD}date`,
  datetime: `${XSD}dateTime`,
};

/** Generated contexts by dataset, base URL and field list (they change only when fields do). */
const cache = new Map<string, string>();
const MAX_CACHED = 1024;

/** A record field and its ODS type ('text', 'int', 'double', 'date', …). */
export interface TypedField {
  readonly name: string;
  readonly type: string;
}

/** The dataset's generated context document, as JSON text, for its records' fields. */
export function datasetContextText(
  dataset: DatasetRecord,
  baseUrl: string,
  fields: readonly TypedField[],
): string {
  const key = `${baseUrl}\n${dataset.name}\n${JSON.stringify(fields)}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const vocab = datasetVocab(baseUrl, dataset.name);
  const ctx: Record<string, unknown> = { '@version': 1.1, '@vocab': vocab };
  for (const f of fields) {
    const type = DATATYPES[f.type];
    // a name with a colon or a leading @ cannot be a term: the vocabulary still maps it, untyped
    if (type === undefined || f.name.includes(':') || f.name.startsWith('@')) continue;
    ctx[f.name] = { '@id': vocab + fieldName(f.name), '@type': type };
  }
  const text = JSON.stringify({ '@context': ctx });
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(key, text);
  return text;
}

/** The hub URL of a record: the ODS Explore v2.1 record route. */
export function recordUrl(baseUrl: string, dataset: string, key: string): string {
  return `${baseUrl}/api/explore/v2.1/catalog/datasets/${encodeURIComponent(dataset)}/records/${encodeURIComponent(key)}`;
}

/**
 * format=jsonld is refused up front (406, with the reason) rather than answered with a graph that
 * silently lost the data: the dataset names a default context this hub does not have (it was
 * deleted after the dataset named it).
 */
export function checkJsonLdAvailable(dataset: DatasetRecord, contexts: ContextLookup): void {
  const named = configOf(dataset).context;
  if (named !== undefined && contexts.text(named) === undefined)
    throw hubError(
      'JSONLD_NOT_AVAILABLE',
      `dataset '${dataset.name}' names the context '${named}', which this hub does not have (any more): register it again with PUT /contexts/${named}, or change the dataset's "context"`,
      { context: named },
    );
}
