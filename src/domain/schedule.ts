import { Cron } from 'croner';
import { hubError } from '../errors.js';

/**
 * When a dataset's scheduled pull is due (seed 001, "Using scheduling"): a list of rules, each an
 * interval or a calendar rule, evaluated in a time zone that defaults to Paris. Everything here is
 * pure — rules and an instant in, instants out — so that every hub process computes the same due
 * times and tests need no clock.
 */

/** "Schedules are defined to run on the timezone of Paris, France." */
export const DEFAULT_TIME_ZONE = 'Europe/Paris';

/** Elapsed-time rule: every `everyMinutes` minutes (at least one: the seed's minimum is the minute). */
export interface IntervalRule {
  readonly everyMinutes: number;
}

/** Calendar rule: a five-field cron expression (minute hour day-of-month month day-of-week). */
export interface CalendarRule {
  readonly cron: string;
  /** an IANA zone; the schedule's `timeZone` (or Paris) when absent */
  readonly timeZone?: string;
}

export type ScheduleRule = IntervalRule | CalendarRule;

/** The parts of a dataset's `schedule` config that decide when it runs. */
export interface ScheduleTiming {
  /** the one-rule form of earlier configs: `{url, everyMinutes}` */
  readonly everyMinutes?: number;
  readonly rules?: readonly ScheduleRule[];
  readonly timeZone?: string;
}

/** A rule with its zone resolved, as GET /datasets/{id} shows it. */
export type ResolvedRule = IntervalRule | { readonly cron: string; readonly timeZone: string };

const MINUTE_MS = 60_000;

export const isCalendarRule = (r: ScheduleRule): r is CalendarRule => 'cron' in r;

/** The schedule's rules, zones resolved: the one-rule form is a list of one interval rule. */
export function resolvedRules(timing: ScheduleTiming): ResolvedRule[] {
  const zone = timing.timeZone ?? DEFAULT_TIME_ZONE;
  const rules =
    timing.rules ?? (timing.everyMinutes !== undefined ? [{ everyMinutes: timing.everyMinutes }] : []);
  return rules.map((r) =>
    isCalendarRule(r)
      ? { cron: r.cron.trim(), timeZone: r.timeZone ?? zone }
      : { everyMinutes: r.everyMinutes },
  );
}

/**
 * The next `count` due instants (ms since the epoch) strictly after `from`, ascending; instants
 * that several rules share are one run.
 *
 * An interval rule is due at the whole multiples of its interval since 1970-01-01T00:00Z (every 15
 * minutes: :00, :15, :30, :45 of each hour): elapsed time needs no zone, and every process agrees
 * on the same instants whenever it started. A calendar rule is read in its zone by croner, which
 * runs a fixed-time rule (02:30) once on both daylight-saving changes: at the first valid minute
 * after the gap in spring (03:00 CEST on 2026-03-29 in Paris), and at the first of the two 02:30s
 * in autumn; a rule with a wildcard or step in its minute or hour runs in every real hour.
 */
export function nextRunTimes(rules: readonly ResolvedRule[], from: number, count: number): number[] {
  const all = new Set<number>();
  for (const rule of rules) {
    if (isCalendarRule(rule)) {
      for (const d of cronOf(rule.cron, rule.timeZone).nextRuns(count, new Date(from))) all.add(d.getTime());
    } else {
      const step = rule.everyMinutes * MINUTE_MS;
      let t = (Math.floor(from / step) + 1) * step;
      for (let i = 0; i < count; i++, t += step) all.add(t);
    }
  }
  return [...all].sort((a, b) => a - b).slice(0, count);
}

/** The first due instant strictly after `from`, or undefined when no rule ever runs again. */
export function nextRunTime(rules: readonly ResolvedRule[], from: number): number | undefined {
  return nextRunTimes(rules, from, 1)[0];
}

/** Parsed cron expressions, by zone and text: reading one costs more than evaluating it. */
const parsed = new Map<string, Cron>();
const PARSED_MAX = 1_000;

function cronOf(expression: string, timeZone: string): Cron {
  const key = `${timeZone} ${expression}`;
  let c = parsed.get(key);
  if (!c) {
    // 5-part: minute-level precision (no seconds field, seconds fixed at 0); paused: evaluated, never run
    c = new Cron(expression, { timezone: timeZone, mode: '5-part', paused: true });
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(key, c);
  }
  return c;
}

const invalid = (field: string, message: string) =>
  hubError('INVALID_CONFIG', `#${field} ${message}`, { field });

/** An IANA zone name the runtime knows (Intl reads the same tz database croner uses). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * What JSON Schema cannot say about a schedule (the config schema checked the shapes): one of
 * `everyMinutes` or `rules`, each rule one kind, cron expressions that parse with five fields and
 * run at least once, zones that exist. Throws 400 INVALID_CONFIG naming the field.
 */
export function checkScheduleTiming(timing: ScheduleTiming, at = '/schedule'): void {
  if ((timing.everyMinutes === undefined) === (timing.rules === undefined)) {
    throw invalid(at, 'must have either everyMinutes (one interval) or rules (a list), not both nor neither');
  }
  if (timing.timeZone !== undefined && !isTimeZone(timing.timeZone)) {
    throw invalid(`${at}/timeZone`, `is not a known IANA time zone: '${timing.timeZone}'`);
  }
  (timing.rules ?? []).forEach((rule, i) => {
    const here = `${at}/rules/${i}`;
    const r = rule as Partial<IntervalRule & CalendarRule>;
    if ((r.everyMinutes === undefined) === (r.cron === undefined)) {
      throw invalid(here, 'must have either everyMinutes (an interval) or cron (a calendar rule)');
    }
    if (r.cron === undefined) {
      if (r.timeZone !== undefined)
        throw invalid(`${here}/timeZone`, 'applies to cron rules only (an interval is elapsed time)');
      return;
    }
    if (r.timeZone !== undefined && !isTimeZone(r.timeZone)) {
      throw invalid(`${here}/timeZone`, `is not a known IANA time zone: '${r.timeZone}'`);
    }
    const fields = r.cron.trim().split(/\s+/);
    // five fields, or one of croner's nicknames (@hourly, @daily, @weekly, @monthly, @yearly)
    const nickname = fields.length === 1 && fields[0]!.startsWith('@');
    if (fields.length !== 5 && !nickname) {
      throw invalid(
        `${here}/cron`,
        `must have five fields (minute hour day-of-month month day-of-week; the minute is the smallest unit), got ${fields.length}: '${r.cron}'`,
      );
    }
    let next: Date | null;
    try {
      next = cronOf(r.cron.trim(), r.timeZone ?? timing.timeZone ?? DEFAULT_TIME_ZONE).nextRun(new Date(0));
    } catch (err) {
      throw invalid(`${here}/cron`, `is not a valid cron expression: ${(err as Error).message}`);
    }
    if (next === null) throw invalid(`${here}/cron`, `never runs: '${r.cron}'`);
  });
}
