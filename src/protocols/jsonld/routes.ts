import type Router from '@koa/router';
import type { Context } from 'koa';
import { hubError } from '../../errors.js';
import { checkContextName } from '../../domain/contexts.js';
import { VERBS, type Verb } from '../../domain/jsonld-verbs.js';
import { adminAccess } from '../../http/access.js';
import { credentialOf } from '../../http/auth.js';
import { errorBody, renderHubError } from '../../http/errors.js';
import { readJson, readRequestBody } from '../../http/json.js';
import type { ProtocolDeps } from '../deps.js';

const LD_JSON = 'application/ld+json';

/** Anonymous use of the utility routes, counted per client address in one-minute windows. */
class AnonymousLimiter {
  private readonly windows = new Map<string, { minute: number; used: number }>();
  constructor(private readonly perMinute: number) {}

  /** Seconds until the client may come back, or 0 when this request is allowed. */
  take(client: string): number {
    const now = Date.now();
    const minute = Math.floor(now / 60_000);
    // the map holds the current minute's clients only
    if (this.windows.size > 100_000) this.windows.clear();
    const w = this.windows.get(client);
    if (!w || w.minute !== minute) {
      this.windows.set(client, { minute, used: 1 });
      return this.perMinute >= 1 ? 0 : 60;
    }
    if (w.used >= this.perMinute) return Math.max(1, Math.ceil(((minute + 1) * 60_000 - now) / 1000));
    w.used++;
    return 0;
  }
}

/**
 * JSON-LD (docs/jsonld.md): the hub's contexts (built-in files and the ones an admin registered),
 * and the JSON-LD API's operations with jsonld.js, run on the worker pool, whose only document
 * loader serves those contexts. Contexts are vocabulary, not data: reading them needs no
 * credential; the operations cost CPU, so they need a key (any dataset key, or admin) or, without
 * one, are rate-limited per client (JSONLD_ANONYMOUS, JSONLD_ANONYMOUS_PER_MINUTE).
 */
export function mountJsonLd(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const hubErrors = errorBody(renderHubError);
  const limiter = new AnonymousLimiter(deps.jsonldGate.anonymousPerMinute);

  const gate = async (ctx: Context): Promise<void> => {
    const principal = await hub.datasets.identify(credentialOf(ctx));
    if (principal.role !== 'anonymous') return;
    const { anonymous } = deps.jsonldGate;
    if (anonymous === 'allow') return;
    if (anonymous === 'deny')
      throw hubError('UNAUTHORIZED', 'the JSON-LD operations need a key (a dataset key or the admin token)');
    const wait = limiter.take(ctx.ip);
    if (wait > 0)
      throw hubError(
        'RATE_LIMITED',
        `anonymous clients may make ${deps.jsonldGate.anonymousPerMinute} JSON-LD requests a minute; send a key or retry later`,
        { retryAfter: wait },
      );
  };

  router.get('/contexts', hubErrors, async (ctx) => {
    const base = deps.baseUrl(ctx);
    const registered = (await hub.contexts.refresh()).keys();
    ctx.body = [
      ...hub.contexts
        .builtInNames()
        .map((name) => ({ name, url: `${base}/contexts/${name}`, builtIn: true })),
      ...[...registered].sort().map((name) => ({ name, url: `${base}/contexts/${name}`, builtIn: false })),
    ];
  });

  router.get('/contexts/:name', hubErrors, async (ctx) => {
    await hub.contexts.refresh();
    const text = hub.contexts.text(ctx.params.name!);
    if (text === undefined)
      throw hubError('CONTEXT_NOT_FOUND', `no context '${ctx.params.name}' on this hub`);
    ctx.status = 200;
    ctx.type = LD_JSON;
    ctx.body = text;
  });

  router.put('/contexts/:name', hubErrors, async (ctx) => {
    await adminAccess(hub, ctx);
    const name = ctx.params.name!.replace(/\.jsonld$/, '');
    checkContextName(name);
    if (hub.contexts.isBuiltIn(name)) await hub.contexts.put(name, ''); // refused with its reason
    const doc = await readJson(ctx);
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !('@context' in doc))
      throw hubError('INVALID_CONTEXT', 'the body must be a context document: {"@context": …}');
    const text = JSON.stringify({ '@context': (doc as { '@context': unknown })['@context'] });
    // processed once by jsonld.js (on the pool), so that a broken context is refused now
    await deps.jsonld.verb('expand', Buffer.from(text), false);
    const { created } = await hub.contexts.put(name, text);
    ctx.status = created ? 201 : 200;
    ctx.set('Location', `${deps.baseUrl(ctx)}/contexts/${name}`);
    ctx.body = { name, url: `${deps.baseUrl(ctx)}/contexts/${name}`, created };
  });

  router.delete('/contexts/:name', hubErrors, async (ctx) => {
    await adminAccess(hub, ctx);
    await hub.contexts.delete(ctx.params.name!.replace(/\.jsonld$/, ''));
    ctx.status = 204;
  });

  for (const verb of VERBS) {
    router.post(`/jsonld/${verb}`, hubErrors, async (ctx) => {
      await gate(ctx);
      await runVerb(ctx, verb);
    });
  }

  async function runVerb(ctx: Context, verb: Verb): Promise<void> {
    const body = await readRequestBody(ctx);
    const nquads = /^application\/n-quads\b/i.test(ctx.get('content-type'));
    // registered contexts as of this request, also from another hub on the same store
    await hub.contexts.refresh();
    const aborted = new AbortController();
    ctx.res.once('close', () => {
      if (!ctx.res.writableFinished) aborted.abort();
    });
    const answer = await deps.jsonld.verb(verb, body, nquads, aborted.signal);
    ctx.status = 200;
    ctx.type = answer.contentType;
    ctx.body = answer.bytes;
  }
}
