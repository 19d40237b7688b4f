import type { KindRenderer } from '../pull/render.js';

/**
 * ICAR resources are emitted exactly as pushed: the stored JSON text goes to the socket without a
 * parse or re-serialisation (deletes were pushed as the resource with `meta.isDeleted: true`).
 * JSON-LD output is provided by the JSON-LD module when it is registered.
 */
export const resourceRenderer: KindRenderer = {
  render: (change) => change.doc,
};
