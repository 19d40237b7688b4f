import { hubError } from '../../errors.js';

/**
 * Time zones for the ODS `timezone` parameter (an IANA name; UTC by default): the local calendar
 * parts of an instant, and the instant of local calendar parts, through the runtime's ICU data
 * (Intl), so DST rules are the tz database's own.
 */

/** year, month (1–12), day, hour, minute, second, millisecond, weekday (1 = Monday … 7 = Sunday) */
export type LocalParts = readonly [number, number, number, number, number, number, number, number];

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's canonical name, or a 400 naming the parameter. */
export function checkTimezone(zone: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw hubError(
      'INVALID_PARAMETER',
      `timezone: '${zone}' is not an IANA time zone name (e.g. UTC, Europe/Paris, America/New_York)`,
    );
  }
}

const isUtc = (zone: string): boolean => zone === 'UTC' || zone === 'Etc/UTC';

/** The local parts of an instant (ms since epoch) in the zone. */
export function localParts(t: number, zone: string): LocalParts {
  const d = new Date(t);
  if (isUtc(zone)) {
    const wd = d.getUTCDay();
    return [
      d.getUTCFullYear(),
      d.getUTCMonth() + 1,
      d.getUTCDate(),
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
      d.getUTCMilliseconds(),
      wd === 0 ? 7 : wd,
    ];
  }
  const out: Record<string, string> = {};
  for (const p of formatter(zone).formatToParts(d)) out[p.type] = p.value;
  return [
    Number(out.year),
    Number(out.month),
    Number(out.day),
    Number(out.hour),
    Number(out.minute),
    Number(out.second),
    ((t % 1000) + 1000) % 1000,
    WEEKDAYS[out.weekday!] ?? 0,
  ];
}

/** The zone's offset from UTC at an instant, in ms (Paris in summer: +7,200,000). */
export function offsetAt(t: number, zone: string): number {
  if (isUtc(zone)) return 0;
  const p = localParts(t, zone);
  return Date.UTC(p[0], p[1] - 1, p[2], p[3], p[4], p[5], p[6]) - t;
}

/**
 * The instant of a local date-time in the zone. Calendar parts may overflow (month 13, day 0), as
 * Date.UTC allows. In a DST gap the later offset applies; in a repeated hour the first one.
 */
export function instantOf(
  zone: string,
  year: number,
  month: number,
  day = 1,
  hour = 0,
  minute = 0,
  second = 0,
  ms = 0,
): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  if (isUtc(zone)) return wall;
  let t = wall - offsetAt(wall, zone);
  const again = wall - offsetAt(t, zone);
  if (again !== t) t = Math.min(t, again);
  return t;
}

/** ISO 8601 text of an instant with the zone's offset: 2024-03-31T00:00:00+01:00 (Z for UTC). */
export function isoInZone(t: number, zone: string): string {
  if (isUtc(zone)) return new Date(t).toISOString().replace('.000Z', 'Z');
  const p = localParts(t, zone);
  const off = Math.round(offsetAt(t, zone) / 60_000);
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const ms = p[6] === 0 ? '' : `.${pad(p[6], 3)}`;
  return `${pad(p[0], 4)}-${pad(p[1])}-${pad(p[2])}T${pad(p[3])}:${pad(p[4])}:${pad(p[5])}${ms}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}
