import { configOf } from '../../domain/config.js';
import { ICAR_CONTEXT } from '../../domain/jsonld-loader.js';
import type { FeedItem } from '../../domain/jsonld-feed.js';
import type { JsonLdPool } from '../../domain/jsonld-pool.js';
import type { Change } from '../../store/types.js';
import type { KindRenderer, RenderContext } from '../pull/render.js';

/** The hub URL of a resource: GET /datasets/{id}/resources/{source}/{sourceId}. The key is already URI-encoded. */
function resourceUrl(rc: RenderContext, change: Change): string {
  return `${rc.baseUrl}/datasets/${encodeURIComponent(rc.dataset.name)}/resources/${change.key}`;
}

const item = (change: Change, rc: RenderContext): FeedItem => ({
  doc: change.doc,
  id: resourceUrl(rc, change),
});

/** The ICAR context, with the dataset's default context over it when it names one. */
const contextOf = (rc: RenderContext) => ({ name: ICAR_CONTEXT, override: configOf(rc.dataset).context });

/**
 * ICAR resources are emitted exactly as pushed: the stored JSON text goes to the socket without a
 * parse or re-serialisation (deletes were pushed as the resource with `meta.isDeleted: true`).
 * With format=jsonld each resource is expanded with the ICAR ADE context on the JSON-LD pool:
 * `@id` is its hub URL, `@type` comes from `resourceType`, every field an IRI of the ICAR core
 * vocabulary (src/domain/jsonld-feed.ts).
 */
export function resourceRenderer(pool: JsonLdPool): KindRenderer {
  return {
    render: async (change, rc) =>
      rc.format === 'jsonld' ? (await pool.feed([item(change, rc)], contextOf(rc)))[0]! : change.doc,
    renderBatch: (changes, rc) =>
      pool.feed(
        changes.map((c) => item(c, rc)),
        contextOf(rc),
      ),
  };
}
