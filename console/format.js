// @ts-check
/** How figures, times and durations read on the page. */

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** @param {unknown} v @returns {v is string} */
export function isIsoTime(v) {
  return typeof v === 'string' && ISO_TIME.test(v);
}

/** A duration in words: "12 seconds", "7 minutes", "3 hours", "2 days". @param {number} ms */
export function duration(ms) {
  const sec = Math.max(0, Math.floor(ms / 1000));
  /** @param {number} n @param {string} unit */
  const plural = (n, unit) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (sec < 60) return plural(sec, 'second');
  const min = Math.floor(sec / 60);
  if (min < 120) return plural(min, 'minute');
  const hours = Math.floor(min / 60);
  if (hours < 48) return plural(hours, 'hour');
  return plural(Math.floor(hours / 24), 'day');
}

/**
 * "14:03:27 (7 minutes ago)", "07:00:00 (in 3 hours)", or the date too when it is not today.
 * @param {string} iso @param {number} now
 */
export function when(iso, now) {
  const t = new Date(iso);
  const sameDay = t.toDateString() === new Date(now).toDateString();
  const clock = sameDay ? t.toLocaleTimeString() : t.toLocaleString();
  const ms = now - t.getTime();
  return ms >= 0 ? `${clock} (${duration(ms)} ago)` : `${clock} (in ${duration(-ms)})`;
}

/** @param {number} n */
export function count(n) {
  return n.toLocaleString();
}

/** "lastErrorAt" → "Last error at". @param {string} name */
export function label(name) {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1).toLowerCase();
}

/** A number of minutes as an admin typed it: 5, 0.5, 0.05. @param {number} m */
export function minutes(m) {
  return `${Number.isInteger(m) ? m : Number(m.toPrecision(3))} min`;
}

/** What went wrong, in one line. @param {unknown} err */
export function message(err) {
  return err instanceof Error ? err.message : String(err);
}
