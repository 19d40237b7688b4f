import { expect } from 'chai';
import { IngestRates } from '../src/domain/ingest-rates.js';

/**
 * The in-memory figures behind GET /datasets/{id}/stats, driven with explicit times: the hour-long
 * window and the memory bound cannot be shown over HTTP without waiting an hour.
 */
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const at = (minute: number, second = 0): number => T0 + minute * MIN + second * 1000;

describe('ingest rates: per-minute figures of the last hour', () => {
  it('when records come in several minutes, then each minute holds its own counts, oldest first', () => {
    const rates = new IngestRates();
    rates.record({ dataset: 'a', received: 3, changes: 2, at: at(0, 5) });
    rates.record({ dataset: 'a', received: 1, changes: 1, at: at(0, 59) });
    rates.record({ dataset: 'a', received: 7, changes: 0, at: at(2, 1) });
    rates.record({ dataset: 'b', received: 100, changes: 100, at: at(2, 2) });
    const s = rates.series('a', at(2, 30));
    expect(s).to.have.length(60);
    expect(s[59]).to.deep.equal({ start: at(2), received: 7, changes: 0 });
    expect(s[58]).to.deep.equal({ start: at(1), received: 0, changes: 0 });
    expect(s[57]).to.deep.equal({ start: at(0), received: 4, changes: 3 });
    expect(s[0]!.start).to.equal(at(-57));
  });

  it('when an hour has passed, then older minutes drop out of the window and their slots are reused', () => {
    const rates = new IngestRates();
    rates.record({ dataset: 'a', received: 5, changes: 5, at: at(0) });
    rates.record({ dataset: 'a', received: 2, changes: 1, at: at(59) });
    expect(rates.series('a', at(59)).reduce((n, m) => n + m.received, 0)).to.equal(7);
    // minute 60 shares minute 0's slot: the old count must not leak into it
    rates.record({ dataset: 'a', received: 1, changes: 1, at: at(60) });
    const s = rates.series('a', at(60));
    expect(s.reduce((n, m) => n + m.received, 0)).to.equal(3);
    expect(s[59]).to.deep.equal({ start: at(60), received: 1, changes: 1 });
    expect(rates.series('a', at(200)).reduce((n, m) => n + m.received, 0)).to.equal(0);
  });

  it('when a dataset was created again within the hour, then minutes before its creation count as zero', () => {
    const rates = new IngestRates();
    rates.record({ dataset: 'a', received: 5, changes: 5, at: at(0) });
    rates.record({ dataset: 'a', received: 1, changes: 1, at: at(3) });
    const s = rates.series('a', at(3, 30), at(2, 10));
    expect(s.reduce((n, m) => n + m.received, 0)).to.equal(1);
  });

  it('when a dataset is forgotten or idle for an hour, then its figures leave memory', () => {
    const rates = new IngestRates();
    for (let i = 0; i < 1000; i++) rates.record({ dataset: `d${i}`, received: 1, changes: 1, at: at(0) });
    expect(rates.datasets).to.equal(1000);
    rates.forget('d0');
    expect(rates.datasets).to.equal(999);
    expect(rates.series('d0', at(0)).reduce((n, m) => n + m.received, 0)).to.equal(0);
    // the next event an hour later sweeps out every dataset with nothing left in the window
    rates.record({ dataset: 'fresh', received: 1, changes: 1, at: at(60) });
    expect(rates.datasets).to.equal(1);
  });

  it('when the clock steps back into a slot that already holds a newer minute, then the event is not misfiled', () => {
    const rates = new IngestRates();
    rates.record({ dataset: 'a', received: 1, changes: 1, at: at(60) });
    rates.record({ dataset: 'a', received: 9, changes: 9, at: at(0) });
    expect(rates.series('a', at(60)).reduce((n, m) => n + m.received, 0)).to.equal(1);
  });
});
