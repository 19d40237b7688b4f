/**
 * OpenAPI 3.0 schema objects (what the ICAR ADE schemas are written in) as JSON Schema 2020-12 that
 * means what their authors meant:
 * - `nullable: true` admits `null` — also where the ADE writes it beside `$ref` or `allOf` without a
 *   `type` (ajv's own `nullable` support refuses that: "nullable cannot be used without type");
 * - `discriminator`, `example`, `xml`, `externalDocs` are documentation to a validator and dropped.
 * Only schema positions are rewritten: a property *named* `nullable` or `example` is left alone.
 */

const DROPPED = new Set(['discriminator', 'example', 'xml', 'externalDocs']);

/** Keywords whose value is one subschema (or, for `items` in draft 4 style, a list of them). */
const ONE = new Set([
  'additionalProperties',
  'unevaluatedProperties',
  'items',
  'additionalItems',
  'unevaluatedItems',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
]);
/** Keywords whose value maps names to subschemas. */
const MAP = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords whose value is a list of subschemas. */
const LIST = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);

/** Members that stay on the schema resource when a nullable schema is wrapped. */
const OUTER = new Set(['$id', '$schema', '$anchor', '$defs', 'definitions', 'description', 'title']);

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function fromOpenApi(schema: unknown): unknown {
  if (!isPlainObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (DROPPED.has(k) || k === 'nullable') continue;
    if (ONE.has(k)) out[k] = Array.isArray(v) ? v.map(fromOpenApi) : fromOpenApi(v);
    else if (MAP.has(k) && isPlainObject(v))
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, fromOpenApi(s)]));
    else if (LIST.has(k) && Array.isArray(v)) out[k] = v.map(fromOpenApi);
    else out[k] = v;
  }
  return schema.nullable === true ? admitNull(out) : out;
}

/** The schema, admitting null as well. */
function admitNull(s: Record<string, unknown>): Record<string, unknown> {
  const t = s.type;
  const plainType = typeof t === 'string' || Array.isArray(t);
  // a typed schema without conditions that could refuse null: widen its type (clearer errors)
  if (
    plainType &&
    s.const === undefined &&
    !('$ref' in s) &&
    !('allOf' in s) &&
    !('anyOf' in s) &&
    !('oneOf' in s)
  ) {
    const types = Array.isArray(t) ? (t as unknown[]) : [t];
    const out: Record<string, unknown> = { ...s, type: types.includes('null') ? types : [...types, 'null'] };
    if (Array.isArray(s.enum) && !s.enum.includes(null)) out.enum = [...(s.enum as unknown[]), null];
    return out;
  }
  // anything else (a $ref, allOf, const…): null, or what the schema says. What belongs to the
  // schema resource itself (its id, its definitions) stays outside, so `#/$defs/…` still resolves.
  const outer: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) (OUTER.has(k) ? outer : rest)[k] = v;
  return { ...outer, anyOf: [{ type: 'null' }, rest] };
}
