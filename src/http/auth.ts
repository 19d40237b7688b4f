import type { Context } from 'koa';
import { hubError, HubError } from '../errors.js';

const garbled = (): HubError => hubError('UNAUTHORIZED', 'the Authorization header is malformed');

/**
 * The credential of a request, in every form docs/datasets.md#credentials accepts: `Authorization: Bearer
 * <key>`,
 * `Authorization: Apikey <key>`, HTTP Basic with the key as password (or as user name when the
 * password is empty, as some clients send it), `?apikey=` and `?pushkey=`. Undefined when none is
 * given; a header that cannot be read is a 401, never a 5xx.
 */
export function credentialOf(ctx: Context): string | undefined {
  const header = ctx.get('authorization');
  if (header !== '') {
    const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
    if (!m) throw garbled();
    const scheme = m[1]!.toLowerCase();
    const value = m[2]!;
    if (scheme === 'bearer' || scheme === 'apikey') return value;
    if (scheme === 'basic') {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) throw garbled();
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw garbled();
      const user = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      return password !== '' ? password : user !== '' ? user : undefined;
    }
    throw garbled();
  }
  for (const name of ['apikey', 'pushkey']) {
    const v = ctx.query[name];
    if (Array.isArray(v)) throw hubError('UNAUTHORIZED', `'${name}' is given more than once`);
    if (typeof v === 'string') return v;
  }
  return undefined;
}
