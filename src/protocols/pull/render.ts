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
  /**
   * Several items of this kind at once, in order (format=jsonld feeds: one task of the JSON-LD
   * pool per batch, not per change). Without it, `render` is called for each.
   */
  renderBatch?(changes: readonly Change[], ctx: RenderContext): Promise<string[]>;
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

  /** A batch of items in order, each kind's run of items rendered by its renderBatch when it has one. */
  async renderMany(changes: readonly Change[], ctx: RenderContext): Promise<string[]> {
    const out: string[] = new Array<string>(changes.length);
    const byKind = new Map<string, number[]>();
    for (const [i, c] of changes.entries()) {
      const r = this.byKind.get(c.kind);
      if (r?.renderBatch) {
        const list = byKind.get(c.kind) ?? [];
        list.push(i);
        byKind.set(c.kind, list);
      } else {
        out[i] = await this.render(c, ctx);
      }
    }
    for (const [kind, indices] of byKind) {
      const rendered = await this.byKind.get(kind)!.renderBatch!(
        indices.map((i) => changes[i]!),
        ctx,
      );
      for (const [j, i] of indices.entries()) out[i] = rendered[j]!;
    }
    return out;
  }
}
