import { readdirSync, readFileSync } from 'node:fs';
import jsonld from 'jsonld';
import type { JsonLdDocument, Options } from 'jsonld';
import { HubError, badRequest, isHubError } from '../errors.js';

/**
 * JSON-LD without the network. The hub's contexts live in `contexts/*.jsonld` and are the only
 * documents jsonld.js can ever load: every call goes through `documentLoader`, which serves them by
 * name or by any URL ending in `/contexts/{name}` and refuses everything else with 400
 * CONTEXT_NOT_FOUND. jsonld.js's own default loader (which would fetch over HTTP) is replaced as
 * well, so that even a call that forgot the option cannot reach the network.
 */

const CONTEXTS_DIR = new URL('../../contexts/', import.meta.url);
const EXTENSION = '.jsonld';

/** Well-known vocabularies of the hub. */
export const ICAR_CORE = 'http://data.adewg.icar.org/core/';
export const UDA_CORE = 'http://data.mimiro.io/core/uda/';

/** The context names the renderers use. */
export const ICAR_CONTEXT = 'icar';
export const UDA_CONTEXT = 'uda';

/** name → the file's text, read once at start-up (a handful of small files). */
function loadContextFiles(): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const file of readdirSync(CONTEXTS_DIR).sort()) {
    if (!file.endsWith(EXTENSION)) continue;
    const text = readFileSync(new URL(file, CONTEXTS_DIR), 'utf8');
    // a broken context file is a bug of the hub: fail at start-up, not at the first request
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || !('@context' in parsed)) {
      throw new Error(`contexts/${file} is not a JSON-LD context document`);
    }
    out.set(file.slice(0, -EXTENSION.length), text);
  }
  return out;
}

const contextFiles = loadContextFiles();

/** The names of the hub's contexts, sorted. */
export function contextNames(): string[] {
  return [...contextFiles.keys()];
}

/** The text of one context file (`icar` or `icar.jsonld`), or undefined. */
export function contextText(name: string): string | undefined {
  const bare = name.endsWith(EXTENSION) ? name.slice(0, -EXTENSION.length) : name;
  return contextFiles.get(bare);
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
function contextNameOf(url: string): string | undefined {
  const path = url.split(/[?#]/, 1)[0] ?? '';
  const slash = path.lastIndexOf('/');
  const last = path.slice(slash + 1);
  if (slash >= 0 && !path.slice(0, slash).endsWith('/contexts')) return undefined;
  return contextText(last) === undefined ? undefined : last.replace(/\.jsonld$/, '');
}

type RemoteDocument = Awaited<ReturnType<NonNullable<Options.Expand['documentLoader']>>>;
/** jsonld.js caches a document tagged 'static' across calls (the field is missing from its types). */
type CachedRemoteDocument = RemoteDocument & { readonly tag: 'static' };

/** The only document loader the hub gives jsonld.js. */
export async function documentLoader(url: string): Promise<RemoteDocument> {
  const name = contextNameOf(url);
  const text = name === undefined ? undefined : contextText(name);
  if (text === undefined) {
    throw badRequest(
      'CONTEXT_NOT_FOUND',
      `context <${url}> is not one of the hub's contexts (${contextNames().join(', ')}); remote documents are never fetched`,
      { url },
    );
  }
  // a fresh copy: jsonld.js may resolve relative URLs inside a context in place
  const doc: CachedRemoteDocument = {
    contextUrl: undefined,
    documentUrl: url,
    document: JSON.parse(text) as RemoteDocument['document'],
    tag: 'static',
  };
  return doc;
}

// never the network, even for a call that forgets the option
Object.assign(jsonld, { documentLoader });

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
 * jsonld.js failures as the hub's 400s: a refusal of our loader stays CONTEXT_NOT_FOUND (jsonld.js
 * wraps it), any other JSON-LD error carries jsonld's own error code (the JSON-LD API's, such as
 * `invalid local context`). Processing never ends in a 5xx: the input is the client's.
 */
export function toJsonLdError(err: unknown): HubError {
  if (isHubError(err)) return err;
  if (isJsonLdError(err)) {
    const cause = err.details?.cause;
    if (isHubError(cause)) return cause;
    const code = typeof err.details?.code === 'string' ? err.details.code : err.name;
    return badRequest(code, err.message, { jsonldError: err.name });
  }
  const message = err instanceof Error ? err.message : String(err);
  return badRequest('INVALID_JSONLD', `the document could not be processed as JSON-LD: ${message}`);
}

/** jsonld.expand with the hub's loader; errors as 400s. */
export async function expandDocument(input: unknown): Promise<unknown[]> {
  try {
    return await jsonld.expand(input as JsonLdDocument, { documentLoader });
  } catch (err) {
    throw toJsonLdError(err);
  }
}

/** jsonld.compact with the hub's loader; errors as 400s. */
export async function compactDocument(input: unknown, context: unknown): Promise<unknown> {
  try {
    return await jsonld.compact(input as JsonLdDocument, context as Parameters<typeof jsonld.compact>[1], {
      documentLoader,
    });
  } catch (err) {
    throw toJsonLdError(err);
  }
}
