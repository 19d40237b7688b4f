import { encodeFieldNames, fastExpander, fitLiteralTypes, type FastExpander } from './jsonld-fast.js';
import {
  contextRef,
  documentLoader,
  expandDocument,
  type ContextLookup,
  type DocumentLoader,
} from './jsonld-loader.js';

/**
 * Feed items in expanded JSON-LD (format=jsonld), a batch at a time: what a worker of the JSON-LD
 * pool does for a feed, so that a feed pays one round trip per batch, not per change.
 */
export interface FeedItem {
  /** the stored document's JSON text */
  readonly doc: string;
  /** the node's `@id` (the item's hub URL) */
  readonly id: string;
  /** expanded properties added to the node (the change's recorded time, its deleted flag) */
  readonly extra?: Record<string, unknown[]>;
}

/** Under which context a batch expands. */
export interface FeedContext {
  /** a context of the hub (built-in or registered), by name */
  readonly name?: string;
  /** a context document's text of its own (a dataset's generated context) */
  readonly text?: string;
  /**
   * a context of the hub applied over `text` (a dataset's default context): its terms win, the
   * generated vocabulary still maps every other field
   */
  readonly override?: string;
}

/** JSON-LD keywords have no place in plain data (ICAR's "@self" is a link JSON-LD would ignore). */
function withoutKeywords(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutKeywords);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('@')) continue;
    Object.defineProperty(out, k, { value: withoutKeywords(v), enumerable: true, writable: true });
  }
  return out;
}

/**
 * Fast expanders by context text, kept by the thread that renders (contexts are few); by text, so a
 * registered context replaced under the same name gets an expander of its own.
 */
export class FastExpanders {
  private readonly byText = new Map<string, FastExpander | undefined>();

  constructor(private readonly max = 256) {}

  of(context: FeedContext, contexts: ContextLookup): FastExpander | undefined {
    if (context.override !== undefined) return undefined; // a context of any shape: jsonld.js's
    const text = context.text ?? (context.name === undefined ? undefined : contexts.text(context.name));
    if (text === undefined) return undefined;
    if (this.byText.has(text)) return this.byText.get(text);
    const fast = fastExpander(text, { dropKeywords: true });
    if (this.byText.size >= this.max) this.byText.clear();
    this.byText.set(text, fast);
    return fast;
  }
}

function contextValue(context: FeedContext): unknown {
  const own = context.text === undefined ? undefined : (JSON.parse(context.text) as { '@context': unknown });
  const parts = [
    ...(own ? [own['@context']] : []),
    ...(context.name !== undefined ? [contextRef(context.name)] : []),
    ...(context.override !== undefined ? [contextRef(context.override)] : []),
  ];
  return parts.length === 1 ? parts[0] : parts;
}

/**
 * One item: the fast path for flat vocabularies, else jsonld.js on the data with its field names
 * made IRI-safe and its literal types checked. Stored data JSON-LD cannot express still names the
 * item (`{"@id"}`), and the feed goes on.
 */
async function renderItem(
  item: FeedItem,
  context: FeedContext,
  fast: FastExpander | undefined,
  loader: DocumentLoader,
): Promise<string> {
  const doc = JSON.parse(item.doc) as Record<string, unknown>;
  let node: Record<string, unknown> | undefined = fast?.(doc, item.id);
  if (!node) {
    try {
      const data = encodeFieldNames(withoutKeywords(doc)) as Record<string, unknown>;
      const expanded = await expandDocument(
        { '@context': contextValue(context), ...data, '@id': item.id },
        loader,
      );
      fitLiteralTypes(expanded);
      if (expanded.length === 1) node = expanded[0] as Record<string, unknown>;
    } catch {
      // see above
    }
  }
  node ??= { '@id': item.id };
  return JSON.stringify(item.extra ? { ...node, ...item.extra } : node);
}

/** A batch of items under one context, resolved against `contexts` (the task's). */
export async function renderFeedItems(
  items: readonly FeedItem[],
  context: FeedContext,
  contexts: ContextLookup,
  expanders: FastExpanders,
): Promise<string[]> {
  const fast = expanders.of(context, contexts);
  const loader = documentLoader(contexts);
  const out: string[] = [];
  for (const item of items) out.push(await renderItem(item, context, fast, loader));
  return out;
}
