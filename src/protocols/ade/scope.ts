import { hubError } from '../../errors.js';
import type { Access } from '../../http/access.js';

/** A location as the ADE names it: `location.scheme` + `location.id` of a resource, or a path's pair. */
export interface Location {
  readonly scheme: string;
  readonly id: string;
}

/**
 * The call site of scoped keys on the ADE routes (docs/datasets.md, keys): every ADE read asks
 * `mayReadLocation` of each location it would show, every ADE push `checkPushLocation` of the
 * path's location (the items must match the path, and the ingest's write guard checks each one
 * again). A key scoped by an ODSQL `where` has no place on the ADE routes, which page by location
 * and collection: it is refused rather than served a scan it cannot count.
 */
function locationsOf(access: Access): readonly Location[] | undefined {
  const p = access.principal;
  const scope = p.role === 'push' || p.role === 'read' ? p.scope : undefined;
  if (!scope) return undefined;
  if (scope.where !== undefined)
    throw hubError(
      'OUT_OF_KEY_SCOPE',
      'a key scoped by a where filter cannot use the ADE routes; use /changes or /resources',
      { where: scope.where },
    );
  return scope.locations;
}

const same = (a: Location, b: Location): boolean => a.scheme === b.scheme && a.id === b.id;

export function mayReadLocation(access: Access, location: Location): boolean {
  const allowed = locationsOf(access);
  return allowed === undefined || allowed.some((l) => same(l, location));
}

export function checkPushLocation(access: Access, location: Location): void {
  if (mayReadLocation(access, location)) return;
  throw hubError(
    'OUT_OF_KEY_SCOPE',
    `this key may not push resources of location ${location.scheme}/${location.id}`,
    {
      location,
    },
  );
}
