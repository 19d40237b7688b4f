import { expect } from 'chai';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { createDataset, milking, pushResources, uniqueId } from './helpers/data.js';
import { call } from './helpers/http.js';
import { installDebianPackage } from './helpers/apt.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { eventually } from './helpers/poll.js';
import { fakeServer, type FakeServer } from './helpers/fake-server.js';

/**
 * Debian's Chromium, installed by the set-up below when missing (as root); playwright-core never
 * downloads a browser of its own. CHROMIUM_PATH points at another one.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** a fresh machine downloads Chromium and its libraries first */
const INSTALL_TIMEOUT_MS = 15 * 60_000;
/** No background traffic: this machine's network is closed, and the page must need none. */
const CHROMIUM_FLAGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const WAIT_MS = 20_000;

/** Waits until the locator's text passes `ok` (the page updates itself; never a fixed sleep). */
async function textOf(locator: Locator, ok: (text: string) => boolean, what: string): Promise<string> {
  let last = '';
  try {
    return await eventually(
      async () => {
        last = ((await locator.count()) > 0 ? await locator.first().textContent() : null) ?? '';
        return ok(last) ? last : undefined;
      },
      WAIT_MS,
      what,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last text: '${last}'`, { cause: err });
  }
}

describe('console page in headless Chromium (sign in, create, live figures and tail, admin actions)', function () {
  this.timeout(180_000);
  let hub: TestHub;
  let browser: Browser;
  let page: Page;
  const shots = mkdtempSync(join(tmpdir(), 'hub-console-shots-'));
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];
  const id = uniqueId('console');
  let keys: { pushKey: string; readKey: string };
  /** the farm's side: a snapshot for scheduled pulls (one more record per download) and a webhook */
  let farm: FakeServer;
  let downloads = 0;

  const card = (name: string): Locator => page.locator(`article[data-dataset="${name}"]`);

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CHROMIUM_PATH !== undefined)
        throw new Error(`CHROMIUM_PATH: no browser at ${CHROMIUM}`);
      this.timeout(INSTALL_TIMEOUT_MS);
      await installDebianPackage('chromium', `the console's browser test needs Chromium at ${CHROMIUM}`);
    }
    farm = await fakeServer((req, res) => {
      if (req.url === '/snapshot.json') {
        downloads++;
        const records = Array.from({ length: downloads }, (_, i) => ({
          sensor: `t${i + 1}`,
          celsius: 20 + i,
        }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(records));
      } else res.writeHead(204).end();
    });
    hub = await startTestHub();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith(`${hub.url}/`)) foreignRequests.push(r.url());
    });
  });
  // a failed step leaves what the page showed, so a flake can be read after the run
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !page) return;
    const file = join(shots, `failed-${this.currentTest.title.slice(5, 45).replace(/\W+/g, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    const notice = await page
      .locator('body')
      .innerText()
      .catch(() => '');
    console.log(`      failed step: screenshot ${file}; page text:\n${notice.slice(0, 2000)}`);
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
    await farm?.close();
    console.log(`      console screenshots: ${shots}`);
  });

  it('when the admin signs in and creates a dataset, then the keys are shown once and its card appears with no records', async () => {
    const res = await page.goto(`${hub.url}/`);
    expect(res?.status()).to.equal(200);
    await page.fill('#key', hub.adminToken);
    await page.click('#sign-in button[type="submit"]');
    await textOf(page.locator('#who'), (t) => t.includes('admin token'), 'signed in as admin');
    expect(await page.evaluate("sessionStorage.getItem('hub.console.key')")).to.equal(hub.adminToken);

    await page.fill('#create-form input[name="id"]', id);
    await page.fill('#create-form input[name="title"]', 'Robot milkings, barn 2');
    await page.click('#create-form button[type="submit"]');
    const pushKey = await textOf(
      page.locator('#create-result code[data-key="push"]'),
      (t) => /^[0-9a-f]{32,}$/.test(t),
      'the new push key',
    );
    const readKey = (await page.locator('#create-result code[data-key="read"]').textContent()) ?? '';
    keys = { pushKey, readKey };
    // the keys the page showed are the dataset's real keys
    expect((await call(`${hub.url}/datasets/${id}`, { token: readKey })).status).to.equal(200);

    await textOf(card(id).locator('.card-title'), (t) => t === 'Robot milkings, barn 2', 'the card title');
    await textOf(card(id).locator('[data-field="count"]'), (t) => t === '0', 'count 0');
    await textOf(card(id).locator('[data-field="push"]'), (t) => t === 'push enabled', 'push enabled');
    // creating opens the dataset: its tail is live
    await textOf(page.locator('#tail-state'), (t) => t.startsWith('Live'), 'the tail to be live');
  });

  it('when resources are pushed through the API, then the count and the live tail update without a reload, newest first', async () => {
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    expect((await pushResources(hub, id, keys.pushKey, [milking(1), milking(2)])).status).to.equal(200);
    await textOf(card(id).locator('[data-field="count"]'), (t) => t === '2', 'count 2');
    await eventually(
      async () => ((await page.locator('#tail li').count()) === 2 ? true : undefined),
      WAIT_MS,
      '2 tail items',
    );

    expect((await pushResources(hub, id, keys.pushKey, [milking(3)])).status).to.equal(200);
    await textOf(card(id).locator('[data-field="count"]'), (t) => t === '3', 'count 3');
    await textOf(card(id).locator('[data-field="lastSeq"]'), (t) => t === '3', 'last sequence 3');
    await eventually(
      async () => ((await page.locator('#tail li').count()) === 3 ? true : undefined),
      WAIT_MS,
      '3 tail items',
    );
    const subs = await page.locator('#tail li .change-sub').allTextContents();
    expect(subs).to.deep.equal([
      'com.example.robot / mv-3',
      'com.example.robot / mv-2',
      'com.example.robot / mv-1',
    ]);
    expect(await card(id).locator('[data-field="lastPushAt"]').textContent()).to.match(/ago\)$/);
    expect(navigations, 'the page reloaded').to.deep.equal([]);
  });

  it('when a change is opened, then it shows as the JSON of the feed and as expanded JSON-LD', async () => {
    const newest = page.locator('#tail li').first();
    await newest.getByRole('button', { name: 'JSON', exact: true }).click();
    const json = JSON.parse(
      await textOf(newest.locator('pre'), (t) => t.startsWith('{'), 'the JSON view'),
    ) as {
      meta: { sourceId: string };
    };
    expect(json.meta.sourceId).to.equal('mv-3');

    await newest.getByRole('button', { name: 'JSON-LD' }).click();
    const ld = JSON.parse(
      await textOf(newest.locator('pre'), (t) => t.startsWith('{'), 'the JSON-LD view'),
    ) as Record<string, unknown>;
    expect(ld['@id']).to.equal(`${hub.url}/datasets/${id}/resources/com.example.robot/mv-3`);
    expect(ld['@type']).to.deep.equal(['http://data.adewg.icar.org/core/MilkingVisitEvent']);
    expect(Object.keys(ld).some((k) => k.startsWith('http://data.adewg.icar.org/core/'))).to.equal(true);
  });

  it("when the dataset is open, then the chart counts this hour's records from the hub's figures", async () => {
    const summary = await textOf(
      page.locator('#chart .chart-summary'),
      (t) => t.startsWith('3 records received, 3 changes'),
      'the chart summary',
    );
    expect(summary).to.equal('3 records received, 3 changes in the last hour');
    expect(await page.locator('#chart svg .bar-received').count()).to.be.at.least(1);
    await page.screenshot({ path: join(shots, 'console-desktop.png'), fullPage: true });
  });

  it('when the admin disables push, then the card says so and pushes are refused; enabling brings it back', async () => {
    await card(id).locator('[data-action="toggle-push"]').click();
    await textOf(card(id).locator('[data-field="push"]'), (t) => t === 'push disabled', 'push disabled');
    expect(await card(id).locator('[data-action="toggle-push"]').textContent()).to.equal('Enable push');
    const refused = await pushResources(hub, id, keys.pushKey, [milking(4)]);
    expect(refused.status).to.equal(403);
    const d = (await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken })).json as {
      config: Record<string, unknown>;
    };
    // PUT replaced the whole config: everything else was sent back unchanged
    expect(d.config).to.deep.equal({ title: 'Robot milkings, barn 2', push: { enabled: false } });

    await card(id).locator('[data-action="toggle-push"]').click();
    await textOf(card(id).locator('[data-field="push"]'), (t) => t === 'push enabled', 'push enabled again');
    expect((await pushResources(hub, id, keys.pushKey, [milking(4)])).status).to.equal(200);
    await textOf(card(id).locator('[data-field="count"]'), (t) => t === '4', 'count 4');
  });

  it('when the admin renews keys (confirming with a second click), then new keys are shown and the old ones stop working', async () => {
    const renew = card(id).locator('[data-action="renew"]');
    await renew.click();
    expect(await renew.textContent()).to.match(/again/);
    await renew.click();
    const pushKey = await textOf(
      card(id).locator('code[data-key="push"]'),
      (t) => /^[0-9a-f]{32,}$/.test(t),
      'the renewed push key',
    );
    expect(pushKey).to.not.equal(keys.pushKey);
    expect((await pushResources(hub, id, keys.pushKey, [milking(5)])).status).to.equal(401);
    expect((await pushResources(hub, id, pushKey, [milking(5)])).status).to.equal(200);
    const readKey = (await card(id).locator('code[data-key="read"]').textContent()) ?? '';
    expect(readKey).to.not.equal(keys.readKey);
    keys = { pushKey, readKey };
  });

  it('when push is toggled on a dataset that forwards upstream, then it changes and the masked upstream key is kept', async () => {
    const forwarding = uniqueId('fwd');
    const { pushKey } = await createDataset(hub, forwarding, {
      title: 'Forwarded to the cloud',
      upstream: { url: farm.url, dataset: 'cloud', key: 'the-real-upstream-key' },
    });
    await card(forwarding).locator('[data-action="toggle-push"]').click();
    await textOf(
      card(forwarding).locator('[data-field="push"]'),
      (t) => t === 'push disabled',
      'push disabled',
    );
    expect((await pushResources(hub, forwarding, pushKey, [milking(1)])).status).to.equal(403);
    // the key the console could not see is still the one stored (the mask was not written over it)
    const stored = (await hub.running.hub.store.getDataset(forwarding))!.config as {
      upstream: { key: string };
    };
    expect(stored.upstream.key).to.equal('the-real-upstream-key');
    // the forwarding status is shown like any other background work
    await textOf(
      card(forwarding).locator('[data-status="forwarding"] h4'),
      (t) => t !== '',
      'forwarding status',
    );
    expect(await card(forwarding).locator('[data-status="forwarding"] h4').textContent()).to.equal(
      'Forwarding upstream',
    );
  });

  it('when a dataset read key signs in, then only what it may read is shown, without admin controls, and its tail works', async () => {
    const other = await browser.newPage({ viewport: { width: 1024, height: 800 } });
    const otherErrors: string[] = [];
    other.on('console', (m) => {
      if (m.type() === 'error') otherErrors.push(m.text());
    });
    try {
      await other.goto(`${hub.url}/`);
      await other.fill('#key', keys.readKey);
      await other.click('#sign-in button[type="submit"]');
      await textOf(other.locator('#who'), (t) => t === `Signed in with the read key of ${id}`, 'signed in');
      await textOf(
        other.locator(`article[data-dataset="${id}"] [data-field="count"]`),
        (t) => t !== '',
        'its card',
      );
      expect(await other.locator('article[data-dataset]').count()).to.equal(1);
      expect(await other.locator('#create').isVisible()).to.equal(false);
      expect(await other.locator(`article[data-dataset="${id}"] .admin-actions`).isVisible()).to.equal(false);
      await other.locator(`article[data-dataset="${id}"] [data-action="open"]`).click();
      await textOf(other.locator('#tail-state'), (t) => t.includes('Live'), 'its tail');
      expect((await pushResources(hub, id, keys.pushKey, [milking(6)])).status).to.equal(200);
      await textOf(
        other.locator('#tail li .change-sub').first(),
        (t) => t.endsWith('/ mv-6'),
        'the new change',
      );
      expect(otherErrors).to.deep.equal([]);
    } finally {
      await other.close();
    }
  });

  it('when a dataset with an inactivity alert gets no data past its threshold, then its card warns that it is silent', async () => {
    const quiet = uniqueId('quiet');
    await createDataset(hub, quiet, {
      title: 'Scale, barn 1',
      alert: { inactiveMinutes: 0.02, webhook: `${farm.url}/hook` },
    });
    const warning = await textOf(
      card(quiet).locator('[data-field="silence"]'),
      (t) => t.startsWith('No data since it was created'),
      'the silence warning',
    );
    expect(warning).to.match(/\(alert after 0\.02 min\)$/);
    expect(await card(quiet).locator('[data-field="silence"]').isVisible()).to.equal(true);
    expect(await card(id).locator('[data-field="silence"]').isVisible()).to.equal(false);
  });

  it('when the admin runs recovery (confirming), then the dataset is rebuilt from its receive log and the tail starts over', async () => {
    const recoverButton = card(id).locator('[data-action="recover"]');
    await recoverButton.click();
    await recoverButton.click();
    const result = await textOf(
      card(id).locator('.result'),
      (t) => t.startsWith('Rebuilt'),
      'recovery result',
    );
    // five pushes were stored (one was refused while push was off): six resources
    expect(result).to.equal('Rebuilt from the receive log: 5 requests replayed, 6 changes, 6 records.');
    await textOf(page.locator('#tail-state'), (t) => t.includes('started over'), 'the tail to start over');
    // the new epoch holds one change per resource stored: mv-1 … mv-6
    await eventually(
      async () => ((await page.locator('#tail li').count()) === 6 ? true : undefined),
      WAIT_MS,
      '6 tail items after recovery',
    );
    expect(await page.locator('#tail li .change-sub').first().textContent()).to.equal(
      'com.example.robot / mv-6',
    );
    await textOf(card(id).locator('[data-field="count"]'), (t) => t === '6', 'count 6 after recovery');
  });

  it('when the admin runs a scheduled pull now, then the outcome is shown and the schedule status says when it ran', async () => {
    const pulled = uniqueId('pulled');
    await createDataset(hub, pulled, {
      title: 'Weather station',
      schedule: { url: `${farm.url}/snapshot.json`, format: 'json', everyMinutes: 60 },
    });
    // the hub pulls once when the schedule is set: one record
    await textOf(card(pulled).locator('[data-field="count"]'), (t) => t === '1', 'the first pull');
    const run = card(pulled).locator('[data-action="run-schedule"]');
    expect(await run.isVisible()).to.equal(true);
    await run.click();
    const result = await textOf(
      card(pulled).locator('.result'),
      (t) => t.startsWith('Pulled'),
      'pull result',
    );
    expect(result).to.equal('Pulled 2 records: 1 change, 0 deleted.');
    await textOf(card(pulled).locator('[data-field="count"]'), (t) => t === '2', 'the second pull');
    const status = card(pulled).locator('[data-status="schedule"]');
    expect(await status.locator('h4').textContent()).to.equal('Scheduled pull');
    expect(await status.textContent()).to.match(/Last run at.*ago\)/);
    // the rules and the next due times, one per line (every 60 minutes: the next whole hour first)
    expect(await status.locator('dd ul.times li').first().textContent()).to.equal('every 60 min');
    const next = await status.locator('dt:text-is("Next runs") + dd li').allTextContents();
    expect(next).to.have.length(5);
    expect(next[0]).to.match(/\(in \d+ (second|minute)s?\)$/);
    // no schedule, no button
    expect(await card(id).locator('[data-action="run-schedule"]').isVisible()).to.equal(false);
    await page.screenshot({ path: join(shots, 'console-desktop-status.png'), fullPage: true });
  });

  it('when the page is 375px wide (a phone), then nothing overflows sideways and the tail is still readable', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.locator('#tail li').first().getByRole('button', { name: 'JSON', exact: true }).click();
    await page.locator('#tail li pre').first().waitFor({ state: 'visible' });
    // evaluated in the page (a string: this file is compiled without the DOM's types)
    const widths = (await page.evaluate(
      '({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, view: window.innerWidth })',
    )) as { doc: number; body: number; view: number };
    expect(widths.doc, 'document wider than the screen').to.be.at.most(widths.view);
    expect(widths.body, 'body wider than the screen').to.be.at.most(widths.view);
    const cardBox = await card(id).boundingBox();
    expect(cardBox?.width).to.be.at.most(375);
    await page.screenshot({ path: join(shots, 'console-phone.png'), fullPage: true });
  });

  it('when the whole scenario ran, then the page logged no console error and asked nothing of any host but the hub', () => {
    expect(consoleErrors, 'console errors in the page').to.deep.equal([]);
    expect(foreignRequests, 'requests beyond the hub').to.deep.equal([]);
  });
});
