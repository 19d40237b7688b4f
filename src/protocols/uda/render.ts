import { compactorFor } from '../../domain/curie.js';
import { UDA_CORE } from '../../domain/jsonld-loader.js';
import type { Change, JsonValue } from '../../store/types.js';
import type { KindRenderer } from '../pull/render.js';
import { compactEntity, type NestedEntity, type StoredEntity } from './entity.js';

const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';
const RECORDED = `${UDA_CORE}recorded`;
const DELETED = `${UDA_CORE}deleted`;

type Node = { [key: string]: unknown };

/**
 * An entity in expanded JSON-LD, built directly: the stored entity is already expanded (full IRIs),
 * so there is nothing for a JSON-LD processor to resolve, and building the node costs about what
 * serialising it does. The output is exactly what jsonld.expand gives for the same graph (property
 * values as value objects, nested arrays flattened, nulls dropped, refs as node references,
 * `rdf:type` refs as `@type`); the tests check that re-expanding it with jsonld.js changes nothing.
 */
function entityNode(e: NestedEntity): Node {
  const node: Node = {};
  if (e.id !== undefined) node['@id'] = e.id;
  const add = (key: string, values: unknown[]): void => {
    const had = node[key];
    node[key] = Array.isArray(had) ? [...(had as unknown[]), ...values] : values;
  };
  for (const [k, v] of Object.entries(e.props)) {
    if (v === null) continue;
    add(k, literalValues(v));
  }
  for (const [k, v] of Object.entries(e.refs)) {
    const ids = typeof v === 'string' ? [v] : v;
    if (k === RDF_TYPE) add('@type', ids);
    else
      add(
        k,
        ids.map((id) => ({ '@id': id })),
      );
  }
  return node;
}

function literalValues(v: JsonValue): unknown[] {
  if (v === null) return [];
  if (Array.isArray(v)) return v.flatMap(literalValues);
  if (typeof v === 'object') return [entityNode(v as unknown as NestedEntity)];
  return [{ '@value': v }];
}

/** Top-level entity as a JSON-LD node, with the change's `recorded` and `deleted` in the UDA core vocabulary. */
export function entityJsonLd(e: StoredEntity, change: Pick<Change, 'recorded' | 'deleted'>): Node {
  const node = entityNode(e);
  node[RECORDED] = [{ '@value': change.recorded }];
  node[DELETED] = [{ '@value': change.deleted }];
  return node;
}

/**
 * UDA entities in feeds: compacted with the dataset's namespaces (the ones the feed's context
 * element lists) with `recorded` (ms) and `deleted`; with format=jsonld, as an expanded node
 * whose `@id` is the entity's IRI.
 */
export const entityRenderer: KindRenderer = {
  render: (change, rc) => {
    const e = JSON.parse(change.doc) as StoredEntity;
    if (rc.format === 'jsonld') return JSON.stringify(entityJsonLd(e, change));
    return JSON.stringify(compactEntity(e, compactorFor(rc.namespaces), change.recorded, change.deleted));
  },
};
