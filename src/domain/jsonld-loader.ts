import { readdirSync, readFileSync } from 'node:fs';
import jsonld from 'jsonld';
import type { JsonLdDocument, Options } from 'jsonld';
import { hubError, HubError, isHubError } from '../errors.js';

/**
 * JSON-LD without the network. The hub's contexts live in `contexts/*.jsonld`, read once at start-up
 * (readContextFiles), and, with the contexts an admin registered, are the only documents jsonld.js can
 * ever load: every call is given a loader made here (documentLoader), which serves them by name or by
 * any URL ending in `/contexts/{name}` and refuses everything else with 400 UNKNOWN_CONTEXT. Nothing
 * here changes jsonld.js itself: each call passes its loader.
 */

/** The hub's own contexts folder (the default of readContextFiles). */
export const CONTEXTS_DIR = new URL('../../contexts/', import.meta.url);
const EXTENSION = '.jsonld';

/** The UDA core vocabulary (entities' `recorded` and `deleted` in JSON-LD; contexts/uda.jsonld). */
export const UDA_CORE = 'http://data.mimiro.io/core/uda/';

/** The ICAR ADE context's name (contexts/icar.jsonld). */
export const ICAR_CONTEXT = 'icar';

/** name → the file's text, read at start-up (a handful of small files); a broken file fails the start. */
export function readContextFiles(dir: URL = CONTEXTS_DIR): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith(EXTENSION)) continue;
    const text = readFileSync(new URL(file, dir), 'utf8');
    // a broken context file is a bug of the hub: fail at start-up, not at the first request
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || !('@context' in parsed)) {
      throw new Error(`contexts/${file} is not a JSON-LD context document`);
    }
    out.set(file.slice(0, -EXTENSION.length), text);
  }
  return out;
}

/** The contexts documents resolve against: the hub's built-in files and its registered ones. */
export interface ContextLookup {
  /** The text of one context (`icar` or `icar.jsonld`), built-in or registered, or undefined. */
  text(name: string): string | undefined;
  isBuiltIn(name: string): boolean;
  /** every name, built-in first, for messages */
  names(): string[];
}

const bareName = (name: string): string =>
  name.endsWith(EXTENSION) ? name.slice(0, -EXTENSION.length) : name;

/** A lookup over two fixed maps: what a JSON-LD worker task resolves against. */
export class StaticContexts implements ContextLookup {
  constructor(
    private readonly builtIn: ReadonlyMap<string, string>,
    private readonly registered: ReadonlyMap<string, string>,
  ) {}

  text(name: string): string | undefined {
    const bare = bareName(name);
    return this.builtIn.get(bare) ?? this.registered.get(bare);
  }

  isBuiltIn(name: string): boolean {
    return this.builtIn.has(name);
  }

  names(): string[] {
    return [...this.builtIn.keys(), ...this.registered.keys()];
  }
}

/**
 * How the hub refers to its own contexts inside documents it builds: a URL the loader resolves and
 * jsonld.js caches by (a string context is resolved once, an inline object would be re-serialised
 * for its cache key on every call).
 */
export function contextRef(name: string): string {
  return `https://hub.invalid/contexts/${name}`;
}

/** Which of the hub's contexts a URL names: the bare name, or any URL ending in /contexts/{name}. */
function contextNameOf(contexts: ContextLookup, url: string): string | undefined {
  const path = url.split(/[?#]/, 1)[0] ?? '';
  const slash = path.lastIndexOf('/');
  const last = path.slice(slash + 1);
  if (slash >= 0 && !path.slice(0, slash).endsWith('/contexts')) return undefined;
  return contexts.text(last) === undefined ? undefined : bareName(last);
}

type RemoteDocument = Awaited<ReturnType<NonNullable<Options.Expand['documentLoader']>>>;
/** jsonld.js caches a document tagged 'static' across calls (the field is missing from its types). */
type CachedRemoteDocument = RemoteDocument & { readonly tag: 'static' };
export type DocumentLoader = (url: string) => Promise<RemoteDocument>;

/** The only kind of document loader the hub gives jsonld.js: these contexts, never the network. */
export function documentLoader(contexts: ContextLookup): DocumentLoader {
  return async (url) => {
    const name = contextNameOf(contexts, url);
    const text = name === undefined ? undefined : contexts.text(name);
    if (name === undefined || text === undefined) {
      throw hubError(
        'UNKNOWN_CONTEXT',
        `context <${url}> is not one of the hub's contexts (${contexts.names().join(', ')}); remote documents are never fetched`,
        { url },
      );
    }
    // a fresh copy: jsonld.js may resolve relative URLs inside a context in place
    const document = JSON.parse(text) as RemoteDocument['document'];
    // built-in files never change: jsonld.js may keep them processed across calls; a registered
    // context can be replaced at any time, so it is processed again by every call
    if (!contexts.isBuiltIn(name)) return { contextUrl: undefined, documentUrl: url, document };
    const doc: CachedRemoteDocument = { contextUrl: undefined, documentUrl: url, document, tag: 'static' };
    return doc;
  };
}

interface JsonLdErrorLike {
  readonly name: string;
  readonly message: string;
  readonly details?: { readonly code?: unknown; readonly cause?: unknown };
}

function isJsonLdError(err: unknown): err is JsonLdErrorLike {
  return (
    err instanceof Error && typeof err.name === 'string' && err.name.startsWith('jsonld.') && 'details' in err
  );
}

/**
 * jsonld.js failures as the hub's 400s: a refusal of our loader stays UNKNOWN_CONTEXT (jsonld.js
 * wraps it), any other JSON-LD error is INVALID_JSONLD carrying jsonld's own error code (the JSON-LD
 * API's, such as `invalid local context`) as `jsonldCode`: the hub's codes stay one catalogue.
 * Processing never ends in a 5xx: the input is the client's.
 */
export function toJsonLdError(err: unknown): HubError {
  if (isHubError(err)) return err;
  if (isJsonLdError(err)) {
    // jsonld.js wraps a loader's refusal, sometimes twice (a scoped context's load inside
    // `invalid scoped context`): the refusal is the answer, however deep
    for (let cause = err.details?.cause, depth = 0; cause !== undefined && depth < 8; depth++) {
      if (isHubError(cause)) return cause;
      cause = isJsonLdError(cause) ? cause.details?.cause : undefined;
    }
    const jsonldCode = typeof err.details?.code === 'string' ? err.details.code : err.name;
    return hubError('INVALID_JSONLD', err.message, { jsonldCode, jsonldError: err.name });
  }
  const message = err instanceof Error ? err.message : String(err);
  return hubError('INVALID_JSONLD', `the document could not be processed as JSON-LD: ${message}`);
}

/** jsonld.expand with the hub's loader; errors as 400s. */
export async function expandDocument(input: unknown, loader: DocumentLoader): Promise<unknown[]> {
  try {
    return await jsonld.expand(input as JsonLdDocument, { documentLoader: loader });
  } catch (err) {
    throw toJsonLdError(err);
  }
}

/** jsonld.compact with the hub's loader; errors as 400s. */
export async function compactDocument(
  input: unknown,
  context: unknown,
  loader: DocumentLoader,
): Promise<unknown> {
  try {
    return await jsonld.compact(input as JsonLdDocument, context as Parameters<typeof jsonld.compact>[1], {
      documentLoader: loader,
    });
  } catch (err) {
    throw toJsonLdError(err);
  }
}
