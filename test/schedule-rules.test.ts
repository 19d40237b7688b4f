import { expect } from 'chai';
import {
  checkScheduleTiming,
  nextRunTimes,
  resolvedRules,
  type ScheduleTiming,
} from '../src/domain/schedule.js';
import { HubError } from '../src/errors.js';

const at = (iso: string): number => Date.parse(iso);
const isoOf = (ts: number[]): string[] => ts.map((t) => new Date(t).toISOString());
/** The due times of `timing` strictly after `from`, up to `count`. */
const runs = (timing: ScheduleTiming, from: string, count: number): string[] =>
  isoOf(nextRunTimes(resolvedRules(timing), at(from), count));
/** The due times in [from, to). */
function runsBetween(timing: ScheduleTiming, from: string, to: string): string[] {
  return runs(timing, new Date(at(from) - 1).toISOString(), 500).filter((t) => at(t) < at(to));
}

function refusal(timing: ScheduleTiming): HubError {
  try {
    checkScheduleTiming(timing);
  } catch (err) {
    expect(err).to.be.instanceOf(HubError);
    return err as HubError;
  }
  throw new Error(`accepted: ${JSON.stringify(timing)}`);
}

describe('schedule rules: next due times (domain/schedule.ts)', () => {
  it('when a rule runs at 02:30 in Paris on the spring-forward day (2026-03-29, 02:00 CET → 03:00 CEST), then it runs once, at 03:00 CEST', () => {
    const daily = { rules: [{ cron: '30 2 * * *' }] };
    // the local day of 2026-03-29 is 23 hours long: 2026-03-28T23:00Z to 2026-03-29T22:00Z
    expect(runsBetween(daily, '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z')).to.deep.equal([
      '2026-03-29T01:00:00.000Z',
    ]);
    // the days around it: 02:30 CET the day before, 02:30 CEST the day after
    expect(runs(daily, '2026-03-27T12:00:00Z', 3)).to.deep.equal([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('when a rule runs at 02:30 in Paris on the fall-back day (2026-10-25, 02:00–03:00 twice), then it runs once, at the first 02:30', () => {
    const daily = { rules: [{ cron: '30 2 * * *' }] };
    // the local day of 2026-10-25 is 25 hours long: 2026-10-24T22:00Z to 2026-10-25T23:00Z
    expect(runsBetween(daily, '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z')).to.deep.equal([
      '2026-10-25T00:30:00.000Z',
    ]);
    expect(runs(daily, '2026-10-24T12:00:00Z', 2)).to.deep.equal([
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('when a rule runs every hour, then it runs in each real hour of both DST days: 23 runs in spring, 25 in autumn', () => {
    const hourly = { rules: [{ cron: '0 * * * *' }] };
    const spring = runsBetween(hourly, '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z');
    const autumn = runsBetween(hourly, '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z');
    expect(spring).to.have.length(23);
    expect(autumn).to.have.length(25);
    // each an hour after the one before: none skipped, none repeated
    for (const day of [spring, autumn]) {
      day.slice(1).forEach((t, i) => expect(at(t) - at(day[i]!)).to.equal(3_600_000));
    }
  });

  it('when a dataset has several rules (Monday 07:00 and Wednesday 15:00 in Paris), then their due times merge in order, in CET and in CEST', () => {
    const timing = { rules: [{ cron: '0 7 * * MON' }, { cron: '0 15 * * WED' }] };
    // Friday 2026-12-04 (CET, UTC+1)
    expect(runs(timing, '2026-12-04T00:00:00Z', 4)).to.deep.equal([
      '2026-12-07T06:00:00.000Z',
      '2026-12-09T14:00:00.000Z',
      '2026-12-14T06:00:00.000Z',
      '2026-12-16T14:00:00.000Z',
    ]);
    // Friday 2026-07-03 (CEST, UTC+2)
    expect(runs(timing, '2026-07-03T00:00:00Z', 2)).to.deep.equal([
      '2026-07-06T05:00:00.000Z',
      '2026-07-08T13:00:00.000Z',
    ]);
  });

  it('when rules share an instant, then it is one run; an interval rule runs on the multiples of its interval, strictly after the instant given', () => {
    const timing = { rules: [{ everyMinutes: 60 }, { cron: '0 * * * *' }, { everyMinutes: 15 }] };
    expect(runs(timing, '2026-05-01T10:07:30Z', 5)).to.deep.equal([
      '2026-05-01T10:15:00.000Z',
      '2026-05-01T10:30:00.000Z',
      '2026-05-01T10:45:00.000Z',
      '2026-05-01T11:00:00.000Z',
      '2026-05-01T11:15:00.000Z',
    ]);
    // exactly on a due time: the next one
    expect(runs({ everyMinutes: 15 }, '2026-05-01T10:15:00Z', 1)).to.deep.equal(['2026-05-01T10:30:00.000Z']);
  });

  it('when a rule names another zone, then it is read there (New York across its own DST change, 2026-03-08)', () => {
    const timing = { timeZone: 'Europe/Paris', rules: [{ cron: '0 9 * * *', timeZone: 'America/New_York' }] };
    expect(runs(timing, '2026-03-06T12:00:00Z', 3)).to.deep.equal([
      '2026-03-06T14:00:00.000Z',
      '2026-03-07T14:00:00.000Z',
      '2026-03-08T13:00:00.000Z',
    ]);
    // the schedule's zone applies to rules naming none
    expect(
      runs({ timeZone: 'UTC', rules: [{ cron: '0 9 * * *' }] }, '2026-03-06T12:00:00Z', 1),
    ).to.deep.equal(['2026-03-07T09:00:00.000Z']);
  });

  it('when a rule runs every minute, then due times are a minute apart at second 0: the minute is the smallest unit', () => {
    expect(runs({ rules: [{ cron: '* * * * *' }] }, '2026-05-01T10:00:59.999Z', 3)).to.deep.equal([
      '2026-05-01T10:01:00.000Z',
      '2026-05-01T10:02:00.000Z',
      '2026-05-01T10:03:00.000Z',
    ]);
    // a seconds field is refused
    const six = refusal({ rules: [{ cron: '*/10 * * * * *' }] });
    expect(six.code).to.equal('INVALID_CONFIG');
    expect(six.details.field).to.equal('/schedule/rules/0/cron');
    expect(six.message).to.match(/five fields/);
  });

  it('when a rule or zone is invalid, then INVALID_CONFIG names the field', () => {
    const cases: Array<[ScheduleTiming, string]> = [
      [{ rules: [{ everyMinutes: 5 }, { cron: 'every monday' }] }, '/schedule/rules/1/cron'],
      [{ rules: [{ cron: '61 * * * *' }] }, '/schedule/rules/0/cron'],
      [{ rules: [{ cron: '0 0 30 2 *' }] }, '/schedule/rules/0/cron'],
      [{ rules: [{ cron: '0 7 * * MON', timeZone: 'Mars/Olympus' }] }, '/schedule/rules/0/timeZone'],
      [{ timeZone: 'Paris', rules: [{ cron: '0 7 * * MON' }] }, '/schedule/timeZone'],
      [{ rules: [{ everyMinutes: 5, timeZone: 'UTC' }] }, '/schedule/rules/0/timeZone'],
      [{ rules: [{}] } as unknown as ScheduleTiming, '/schedule/rules/0'],
      [{ everyMinutes: 5, rules: [{ everyMinutes: 5 }] }, '/schedule'],
      [{}, '/schedule'],
    ];
    for (const [timing, field] of cases) {
      const err = refusal(timing);
      expect(err.status, JSON.stringify(timing)).to.equal(400);
      expect(err.code).to.equal('INVALID_CONFIG');
      expect(err.details.field, JSON.stringify(timing)).to.equal(field);
    }
    // and the one-rule form of earlier configs is still a schedule
    expect(() => checkScheduleTiming({ everyMinutes: 60 })).to.not.throw();
    expect(() => checkScheduleTiming({ rules: [{ cron: '@daily' }, { cron: '0 0 L * *' }] })).to.not.throw();
    expect(resolvedRules({ everyMinutes: 60 })).to.deep.equal([{ everyMinutes: 60 }]);
  });
});
