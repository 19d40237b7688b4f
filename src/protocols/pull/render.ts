import type { Namespaces } from '../../domain/namespaces.js';
import type { Change, DatasetRecord } from '../../store/types.js';

export type ItemFormat = 'plain' | 'jsonld';

export interface RenderContext {
  readonly dataset: DatasetRecord;
  /** the hub's public base URL, no trailing slash */
  readonly baseUrl: string;
  readonly namespaces: Namespaces;
  readonly format: ItemFormat;
}

/**
 * How the changes of one kind appear in pull feeds. Each protocol that writes a kind registers one:
 * ICAR resources are emitted as pushed (the stored text, never re-parsed), UDA entities compacted
 * with the dataset's namespaces, ODS/Obsrv records in the ODS record shape.
 */
export interface KindRenderer {
  /** the item as JSON text */
  render(change: Change, ctx: RenderContext): string | Promise<string>;
}

export class KindRenderers {
  private readonly byKind = new Map<string, KindRenderer>();

  register(kind: string, renderer: KindRenderer): void {
    this.byKind.set(kind, renderer);
  }

  render(change: Change, ctx: RenderContext): string | Promise<string> {
    const r = this.byKind.get(change.kind);
    // a kind nobody registered (a protocol removed since): the document as stored
    return r ? r.render(change, ctx) : change.doc;
  }
}
