import { expect } from 'chai';
import { createDataset, milking, pushResources, uniqueId } from './helpers/data.js';
import { call } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { fakeServer, type FakeServer } from './helpers/fake-server.js';
import { quietPeriod, waitFor } from './helpers/poll.js';

type Json = Record<string, unknown>;

/** 0.01 minutes = 600 ms of silence makes an alert. */
const INACTIVE_MINUTES = 0.01;
/** Long enough to see that a spell is not alerted twice (several thresholds). */
const QUIET_MS = 2_000;

describe('inactivity alerts (docs/operations.md#alerts)', () => {
  let hub: TestHub;
  let webhook: FakeServer;
  let failNext = 0;

  /** What the webhook accepted for one dataset, in order (failed deliveries left out). */
  const delivered = new Map<string, Json[]>();

  before(async () => {
    hub = await startTestHub({ opsRetryMaxMs: 200 });
    webhook = await fakeServer((req, res) => {
      if (failNext > 0) {
        failNext--;
        res.writeHead(503).end();
        return;
      }
      const body = JSON.parse(req.body) as Json;
      const list = delivered.get(String(body.dataset)) ?? [];
      list.push(body);
      delivered.set(String(body.dataset), list);
      res.writeHead(204).end();
    });
  });
  after(async () => {
    await hub.close();
    await webhook.close();
  });

  const types = (id: string): string[] => (delivered.get(id) ?? []).map((b) => String(b.type));

  it('when no record arrives for inactiveMinutes, then one alert reaches the webhook (retried after a failure), and the next push sends one resumed notice', async () => {
    const id = uniqueId('alert');
    const { pushKey } = await createDataset(hub, id, {
      alert: { inactiveMinutes: INACTIVE_MINUTES, webhook: `${webhook.url}/hook` },
    });
    failNext = 1;
    const pushed = await pushResources(hub, id, pushKey, [milking(1)]);
    expect(pushed.status).to.equal(200);
    const d0 = (await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken })).json as Json;

    await waitFor('the inactive alert', () => (types(id).length > 0 ? true : undefined));
    const attempts = webhook.received.filter((r) => r.body.includes(`"${id}"`));
    expect(attempts, 'the failed delivery was retried').to.have.length(2);
    const alert = delivered.get(id)![0]!;
    expect(alert).to.deep.equal({
      type: 'inactive',
      dataset: id,
      lastPushAt: d0.lastPushAt,
      inactiveMinutes: INACTIVE_MINUTES,
    });
    const status = await waitFor('the alert status', async () => {
      const d = (await call(`${hub.url}/datasets/${id}`, { token: pushKey })).json as { alert: Json };
      return d.alert.alertedAt ? d.alert : undefined;
    });
    expect(status).to.include({ state: 'inactive', inactiveMinutes: INACTIVE_MINUTES, lastError: null });

    await quietPeriod(QUIET_MS);
    expect(types(id), 'one alert per silent spell').to.deep.equal(['inactive']);

    await pushResources(hub, id, pushKey, [milking(2)]);
    await waitFor('the resumed notice', () => (types(id).includes('resumed') ? true : undefined));
    const resumed = delivered.get(id)![1]!;
    expect(resumed).to.include({ type: 'resumed', dataset: id, inactiveMinutes: INACTIVE_MINUTES });
    // the silence after it is a new spell: alerted once more, and the resumption was sent once
    await waitFor('the next spell', () => (types(id).length >= 3 ? true : undefined));
    await quietPeriod(QUIET_MS);
    expect(types(id)).to.deep.equal(['inactive', 'resumed', 'inactive']);
  });

  it('when the hub restarts during a silent spell, then the alert is not repeated and the resumption is still announced', async () => {
    const id = uniqueId('alert');
    const { pushKey } = await createDataset(hub, id, {
      alert: { inactiveMinutes: INACTIVE_MINUTES, webhook: `${webhook.url}/hook` },
    });
    await pushResources(hub, id, pushKey, [milking(1)]);
    await waitFor('the inactive alert', () => (types(id).length > 0 ? true : undefined));
    hub = await hub.restart();
    await quietPeriod(QUIET_MS);
    expect(types(id)).to.deep.equal(['inactive']);
    await pushResources(hub, id, pushKey, [milking(2)]);
    await waitFor('the resumed notice', () => (types(id).includes('resumed') ? true : undefined));
    expect(types(id).slice(0, 2)).to.deep.equal(['inactive', 'resumed']);
  });

  it('when a dataset has no alert, then its status has no alert block and nothing is sent, even after the threshold of an alerted neighbour passed', async () => {
    // a neighbour pushed at the same moment with an alert: once its alert arrives, the
    // threshold has passed for both, so silence about `id` is an answer, not an early look
    const gate = uniqueId('alert');
    const g = await createDataset(hub, gate, {
      alert: { inactiveMinutes: INACTIVE_MINUTES, webhook: `${webhook.url}/hook` },
    });
    const id = uniqueId('alert');
    const { pushKey } = await createDataset(hub, id, {});
    await Promise.all([
      pushResources(hub, id, pushKey, [milking(1)]),
      pushResources(hub, gate, g.pushKey, [milking(1)]),
    ]);
    const d = (await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken })).json as Json;
    expect(d).to.not.have.property('alert');
    await waitFor('the alert of the neighbour', () => (types(gate).includes('inactive') ? true : undefined));
    expect(types(id)).to.deep.equal([]);
    expect(webhook.received.filter((r) => r.body.includes(`"${id}"`))).to.deep.equal([]);
  });
});
