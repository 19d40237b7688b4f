import type { KeyLocation } from '../../domain/keys.js';

/**
 * Where an ICAR resource belongs: ADE resources carry `location: {scheme, id}` (the
 * icarLocationIdentifierType). Location-scoped keys (protocols/scope.ts) and the ADE routes read it
 * here, so the shape is known in one place.
 */
export function resourceLocation(doc: unknown): KeyLocation | undefined {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const loc = (doc as { location?: unknown }).location;
  if (loc === null || typeof loc !== 'object' || Array.isArray(loc)) return undefined;
  const { scheme, id } = loc as { scheme?: unknown; id?: unknown };
  return typeof scheme === 'string' && typeof id === 'string' ? { scheme, id } : undefined;
}
