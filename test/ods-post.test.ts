import { expect } from 'chai';
import { type DatasetKeys } from './helpers/data.js';
import { call } from './helpers/http.js';
import { type TestHub } from './helpers/hub.js';
import { exploreUrl, odsDataset } from './helpers/ods.js';
import { fromCatalog, odsClientFor } from './helpers/ods-client.js';

/** Seed 003: "all the APIs endpoints accept GET and POST HTTP methods". */
describe('ODS read APIs over POST, and ODS error bodies everywhere under the ODS paths', () => {
  let hub: TestHub;
  let ds: string;
  let keys: DatasetKeys;
  before(async () => {
    const rows = Array.from({ length: 12 }, (_, n) => ({
      n,
      v: n % 4,
      city: n % 2 ? 'Paris' : 'Lyon',
      loc: { lon: 2.3 + n / 100, lat: 48.8 + n / 100 },
    }));
    ({ hub, ds, keys } = await odsDataset('post', rows));
  });
  after(() => hub.close());

  const form = (params: Record<string, string>) => ({
    method: 'POST',
    raw: new URLSearchParams(params).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `ApiKey ${keys.readKey}` },
  });
  const json = (params: Record<string, unknown>) => ({
    method: 'POST',
    raw: JSON.stringify(params),
    headers: { 'content-type': 'application/json', authorization: `ApiKey ${keys.readKey}` },
  });

  it('when records are asked by POST with a form or a JSON body, then the answer is the GET answer', async () => {
    const params = { where: 'v > 1', order_by: 'n desc', limit: '5' };
    const got = await odsClientFor(hub, keys.readKey).get<unknown>(
      fromCatalog().dataset(ds).records().where('v > 1').orderBy('n desc').limit(5),
    );
    const byForm = await call(exploreUrl(hub, ds, 'records'), form(params));
    const byJson = await call(exploreUrl(hub, ds, 'records'), json({ ...params, limit: 5 }));
    expect(byForm.status).to.equal(200);
    expect(byJson.status).to.equal(200);
    expect(byForm.json).to.deep.equal(got);
    expect(byJson.json).to.deep.equal(got);
    expect((got as { total_count: number }).total_count).to.equal(6);
  });

  it('when every other read API is asked by POST, then it answers as its GET does', async () => {
    const cases: { url: string; params: Record<string, string> }[] = [
      { url: exploreUrl(hub, ds, 'exports/json'), params: { where: 'v = 3', select: 'n' } },
      { url: exploreUrl(hub, ds, 'records'), params: { select: 'count(*) as c', group_by: 'city' } },
      { url: `${hub.url}/api/records/1.0/search/`, params: { dataset: ds, q: 'Paris', rows: '3' } },
      { url: `${hub.url}/api/explore/v2.1/catalog/datasets`, params: { where: `dataset_id = "${ds}"` } },
      { url: `${hub.url}/api/explore/v2.1/catalog/datasets/${ds}`, params: {} },
      { url: `${hub.url}/api/records/1.0/geocluster/`, params: { dataset: ds, clusterprecision: '12' } },
      { url: exploreUrl(hub, ds, 'facets'), params: { facet: 'city', where: 'v > 0' } },
    ];
    for (const c of cases) {
      const qs = new URLSearchParams(c.params);
      const get = await call(`${c.url}?${qs}`, { headers: { authorization: `ApiKey ${keys.readKey}` } });
      const post = await call(c.url, form(c.params));
      expect(get.status, c.url).to.equal(200);
      expect(post.status, c.url).to.equal(200);
      expect(post.json, c.url).to.deep.equal(get.json);
    }
  });

  it('when a POST body comes as text/plain (fetch with a string body), then it is read as JSON or a form', async () => {
    const plain = { 'content-type': 'text/plain;charset=UTF-8', authorization: `ApiKey ${keys.readKey}` };
    const asJson = await call(exploreUrl(hub, ds, 'records'), {
      method: 'POST',
      raw: '{"where": "v = 3"}',
      headers: plain,
    });
    const asForm = await call(exploreUrl(hub, ds, 'records'), {
      method: 'POST',
      raw: 'where=v%20%3D%203',
      headers: plain,
    });
    expect((asJson.json as { total_count: number }).total_count).to.equal(3);
    expect(asForm.json).to.deep.equal(asJson.json);
  });

  it('when a POST body repeats a URL parameter, then it is refused as given twice, in the ODS shape', async () => {
    const r = await call(`${exploreUrl(hub, ds, 'records')}?where=v>1`, form({ where: 'v > 2' }));
    expect(r.status).to.equal(400);
    expect(r.json).to.deep.include({ error_code: 'InvalidRESTParameterError' });
  });

  it('when a POST body is neither a form nor JSON, then the answer is 415 in the ODS shape', async () => {
    const r = await call(exploreUrl(hub, ds, 'records'), {
      method: 'POST',
      raw: '<where/>',
      headers: { 'content-type': 'application/xml', authorization: `ApiKey ${keys.readKey}` },
    });
    expect(r.status).to.equal(415);
    expect(r.json).to.deep.include({ error_code: 'UnsupportedMediaTypeError' });
  });

  it('when a POST body has an ODSQL error, then it is an ODSQLError like the GET', async () => {
    const r = await call(exploreUrl(hub, ds, 'records'), json({ where: 'v >' }));
    expect(r.status).to.equal(400);
    expect((r.json as { error_code: string }).error_code).to.equal('ODSQLError');
  });

  it('when an ODS path has no route or not this method, then the 404 and 405 are ODS error bodies', async () => {
    const missing = await call(`${hub.url}/api/explore/v2.1/catalog/nothing-here`);
    expect(missing.status).to.equal(404);
    expect(missing.json).to.have.keys('error_code', 'message');
    expect((missing.json as { error_code: string }).error_code).to.equal('NotFoundError');
    const wrong = await call(exploreUrl(hub, ds, 'records'), { method: 'DELETE' });
    expect(wrong.status).to.equal(405);
    expect(wrong.json).to.have.keys('error_code', 'message');
    expect((wrong.json as { error_code: string }).error_code).to.equal('MethodNotAllowedError');
    const v1 = await call(`${hub.url}/api/records/1.0/search/?dataset=${ds}`, { method: 'PUT' });
    expect(v1.status).to.equal(405);
    expect((v1.json as { error_code: string }).error_code).to.equal('MethodNotAllowedError');
  });
});
