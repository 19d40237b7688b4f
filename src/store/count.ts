import type { AuxCount } from './types.js';

/**
 * The value of an auxCount entry, `<period>|<count>`, and the step the engines take on it. One use
 * in `period`: a count from an earlier period starts over at 1; at `limit` the use is refused and
 * nothing changes (so a refused caller cannot push the count further out).
 */
export function countStep(
  stored: string | undefined,
  period: string,
  limit: number,
): AuxCount & { readonly value?: string } {
  const bar = stored === undefined ? -1 : stored.lastIndexOf('|');
  const samePeriod = bar >= 0 && stored!.slice(0, bar) === period;
  const used = samePeriod ? Number(stored!.slice(bar + 1)) || 0 : 0;
  if (used >= limit) return { used, allowed: false };
  return { used: used + 1, allowed: true, value: `${period}|${used + 1}` };
}
