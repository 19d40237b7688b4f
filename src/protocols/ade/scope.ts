import type { Access } from '../../http/access.js';

/** A location as the ADE names it: `location.scheme` + `location.id` of a resource, or a path's pair. */
export interface Location {
  readonly scheme: string;
  readonly id: string;
}

/**
 * THE call site of location-scoped keys on the ADE routes (issue 18 point 4): every ADE read asks
 * `mayReadLocation` of each location it would show, every ADE push `checkPushLocation` of each
 * location it would store. Until the scoped-keys mechanism lands these admit every location the
 * key's dataset access already grants; then they call its scope check.
 */
export function mayReadLocation(_access: Access, _location: Location): boolean {
  return true;
}

export function checkPushLocation(_access: Access, _location: Location): void {
  // scoped keys: a push key limited to other locations is refused here (403 naming the location)
}
