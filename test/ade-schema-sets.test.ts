import { expect } from 'chai';
import { schemaSetCompilations } from '../src/domain/schema-set.js';
import { ADE_SCHEMA_DIR, putSchemaSet, schemaFiles, visit } from './helpers/ade.js';
import { createDataset, pushResources, readChanges, uniqueId } from './helpers/data.js';
import { call } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { envelope, ingest } from './helpers/obsrv.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Problem {
  index: number;
  path: string;
  keyword: string;
  message: string;
}
interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors: Problem[];
  error: { code: string; message: string; index: number };
}

const HUB_BIN = fileURLToPath(new URL('../bin/hub.js', import.meta.url));

describe('ICAR schema sets (docs/icar.md#schema-sets)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(async () => {
    await hub.close();
  });

  async function datasetWithSet(config: object = {}) {
    const id = uniqueId('ade-set');
    const keys = await createDataset(hub, id, config);
    const r = await putSchemaSet(hub, id, { files: schemaFiles() });
    expect(r.status, r.text).to.equal(200);
    return { id, ...keys };
  }

  it('when the ADE-shaped set is uploaded, then its files and the type of each file named after it are listed', async () => {
    const { id, readKey } = await datasetWithSet();
    const r = await call(`${hub.url}/datasets/${id}/schemas`, { token: readKey });
    expect(r.status).to.equal(200);
    const set = r.json as { version: number; files: string[]; types: Record<string, string> };
    expect(set.version).to.equal(1);
    expect(set.files).to.include.members([
      'resources/icarMilkingVisitEventResource.json',
      'types/icarMetaDataType.json',
      'enums/icarMilkingTypeCode.json',
    ]);
    expect(set.types.icarMilkingVisitEventResource).to.equal('resources/icarMilkingVisitEventResource.json');
  });

  it('when a milking visit has meta.validFrom null (nullable beside allOf), then it is accepted and stored unchanged', async () => {
    const { id, pushKey, readKey } = await datasetWithSet();
    const doc = visit(1);
    const r = await pushResources(hub, id, pushKey, [doc]);
    expect(r.status, r.text).to.equal(200);
    const feed = await readChanges(hub, id, readKey);
    expect(feed.items).to.deep.equal([doc]);
  });

  it('when a milking visit has no milkingMilkWeight, then the push is a problem+json 400 naming it', async () => {
    const { id, pushKey } = await datasetWithSet();
    const { milkingMilkWeight: _w, ...bad } = visit(2);
    const r = await pushResources(hub, id, pushKey, [bad]);
    expect(r.status).to.equal(400);
    expect(r.headers.get('content-type')).to.match(/^application\/problem\+json/);
    const body = r.json as ProblemBody;
    expect(body.code).to.equal('SCHEMA_VIOLATION');
    expect(body.status).to.equal(400);
    expect(body.error.code).to.equal('SCHEMA_VIOLATION');
    expect(body.errors).to.deep.include({
      index: 1,
      path: '',
      keyword: 'required',
      message: "# must have required property 'milkingMilkWeight'",
    });
  });

  it('when a batch has three bad items, then every error of each is listed and nothing of the batch is stored', async () => {
    const { id, pushKey, readKey } = await datasetWithSet();
    const good = visit(10);
    const { milkingMilkWeight: _w, ...noWeight } = visit(11);
    const badEnum = visit(12, undefined, undefined, {
      milkingType: 'ByHand',
      milkingMilkWeight: { unitCode: 'LTR', value: 3 },
    });
    const badDate = visit(13, undefined, 'yesterday', {
      meta: { source: 'com.example.robot', sourceId: 'mv-13', modified: 'yesterday', validFrom: 7 },
    });
    const r = await pushResources(hub, id, pushKey, [good, noWeight, badEnum, badDate]);
    expect(r.status).to.equal(400);
    const body = r.json as ProblemBody;
    const where = body.errors.map((e) => `${e.index} ${e.path} ${e.keyword}`);
    expect(where).to.include('2  required');
    expect(where).to.include('3 /milkingType enum');
    expect(where).to.include('3 /milkingMilkWeight/unitCode enum');
    expect(where).to.include('4 /meta/modified format');
    expect(where.filter((w) => w.startsWith('4 /meta/validFrom')).length).to.be.greaterThan(0);
    expect(body.errors.every((e) => e.index !== 1)).to.equal(true);
    expect(body.error.index).to.equal(2);
    const feed = await readChanges(hub, id, readKey);
    expect(feed.items).to.deep.equal([]);
  });

  it('when more than 100 problems are found, then 100 are listed and the answer says it was cut', async () => {
    const { id, pushKey } = await datasetWithSet();
    const bad = Array.from({ length: 60 }, (_, i) =>
      visit(100 + i, undefined, undefined, {
        milkingType: 'x',
        milkingMilkWeight: { unitCode: 'x', value: 1 },
      }),
    );
    const r = await pushResources(hub, id, pushKey, bad);
    const body = r.json as ProblemBody & { truncated?: boolean };
    expect(body.errors).to.have.length(100);
    expect(body.truncated).to.equal(true);
  });

  it('when a resourceType has no schema in the set, then it is refused by default and passed with unknownResourceType "pass"', async () => {
    const refusing = await datasetWithSet();
    const other = {
      resourceType: 'icarFeedResource',
      meta: { source: 's', sourceId: 'f1', modified: '2024-01-01T00:00:00Z' },
    };
    const r1 = await pushResources(hub, refusing.id, refusing.pushKey, [other]);
    expect(r1.status).to.equal(400);
    expect((r1.json as ProblemBody).errors[0]).to.include({
      index: 1,
      path: '/resourceType',
      keyword: 'resourceType',
    });
    const passing = await datasetWithSet({ icar: { unknownResourceType: 'pass' } });
    const r2 = await pushResources(hub, passing.id, passing.pushKey, [other]);
    expect(r2.status, r2.text).to.equal(200);
  });

  it('when the dataset requires location and meta.modified, then a resource without them is refused listing both', async () => {
    const id = uniqueId('ade-req');
    const { pushKey } = await createDataset(hub, id, {
      icar: { requireLocation: true, requireModified: true },
    });
    const r = await pushResources(hub, id, pushKey, [
      { resourceType: 'icarWeightEventResource', meta: { source: 's', sourceId: 'w1' } },
    ]);
    expect(r.status).to.equal(400);
    const body = r.json as ProblemBody;
    expect(body.code).to.equal('INVALID_RESOURCE');
    expect(body.errors.map((e) => e.path)).to.deep.equal(['/meta/modified', '/location']);
    const ok = await pushResources(hub, id, pushKey, [visit(1)]);
    expect(ok.status, ok.text).to.equal(200);
  });

  it('when a file refers to one that is not in the set, then the upload is a 400 naming the reference and the set before stays', async () => {
    const { id, pushKey } = await datasetWithSet();
    const files = schemaFiles();
    delete files['types/icarMetaDataType.json'];
    const r = await putSchemaSet(hub, id, { files });
    expect(r.status).to.equal(400);
    const err = (r.json as { error: { code: string; message: string } }).error;
    expect(err.code).to.equal('INVALID_SCHEMA');
    expect(err.message).to.include('icarMetaDataType.json');
    // the stored set still checks pushes
    const { milkingMilkWeight: _w, ...bad } = visit(3);
    expect((await pushResources(hub, id, pushKey, [bad])).status).to.equal(400);
    expect((await pushResources(hub, id, pushKey, [visit(3)])).status).to.equal(200);
  });

  it('when files refer to each other by $id, then the references resolve', async () => {
    const id = uniqueId('ade-id');
    const { pushKey } = await createDataset(hub, id);
    const r = await putSchemaSet(hub, id, {
      files: {
        'a/thing.json': {
          type: 'object',
          required: ['resourceType', 'size'],
          properties: { size: { $ref: 'https://example.org/schemas/size' } },
        },
        'b/size.json': { $id: 'https://example.org/schemas/size', type: 'integer', minimum: 1 },
      },
      types: { thing: 'a/thing.json' },
    });
    expect(r.status, r.text).to.equal(200);
    const meta = (n: string) => ({ source: 's', sourceId: n });
    expect(
      (await pushResources(hub, id, pushKey, [{ resourceType: 'thing', size: 3, meta: meta('1') }])).status,
    ).to.equal(200);
    const bad = await pushResources(hub, id, pushKey, [{ resourceType: 'thing', size: 0, meta: meta('2') }]);
    expect((bad.json as ProblemBody).errors[0]).to.include({ path: '/size', keyword: 'minimum' });
  });

  it('when pushes follow an upload, then none compiles the set again; a new upload is used at once', async () => {
    const { id, pushKey } = await datasetWithSet();
    expect((await pushResources(hub, id, pushKey, [visit(1)])).status).to.equal(200);
    const before = schemaSetCompilations();
    for (let i = 2; i < 6; i++)
      expect((await pushResources(hub, id, pushKey, [visit(i)])).status).to.equal(200);
    expect(schemaSetCompilations()).to.equal(before);
    // a stricter milk weight: the next push is checked against it
    const files = schemaFiles();
    (files['types/icarMilkingMilkWeightType.json'] as { properties: { value: object } }).properties.value = {
      type: 'number',
      minimum: 20,
    };
    expect((await putSchemaSet(hub, id, { files })).status).to.equal(200);
    const r = await pushResources(hub, id, pushKey, [visit(7)]);
    expect(r.status).to.equal(400);
    expect((r.json as ProblemBody).errors[0]).to.include({
      path: '/milkingMilkWeight/value',
      keyword: 'minimum',
    });
  });

  it('when a key that is not the admin token uploads a set, then it is refused', async () => {
    const id = uniqueId('ade-auth');
    const { pushKey } = await createDataset(hub, id);
    const r = await call(`${hub.url}/datasets/${id}/schemas`, {
      method: 'PUT',
      token: pushKey,
      body: { files: schemaFiles() },
    });
    expect(r.status).to.equal(403);
  });

  it('when an Obsrv or ODS push breaks the set, then its own body keeps the first error and adds the list', async () => {
    const { id, pushKey } = await datasetWithSet();
    const { milkingMilkWeight: _w, ...bad } = visit(4);
    const o = await ingest(hub, id, pushKey, envelope([visit(5), bad, { ...bad, milkingType: 'x' }]));
    expect(o.status).to.equal(400);
    const oe = (o.json as { error: { index: number; errors: Problem[] } }).error;
    expect(oe.index).to.equal(1);
    expect(oe.errors.map((e) => e.index)).to.deep.equal([1, 2, 2]);
    const d = await call(`${hub.url}/api/push/1.0/${id}/realtime/push/?pushkey=${pushKey}`, {
      raw: JSON.stringify([bad, visit(6)]),
    });
    expect(d.status).to.equal(400);
    const de = d.json as { error: string; errors: Problem[] };
    expect(de.error).to.match(/^element 0 /);
    expect(de.errors.map((e) => e.index)).to.deep.equal([0]);
  });

  it('when `hub schemas add` is given the directory, then the set is stored and checks pushes', async () => {
    const id = uniqueId('ade-cli');
    const { pushKey } = await createDataset(hub, id);
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [HUB_BIN, 'schemas', 'add', id, ADE_SCHEMA_DIR],
        { env: { ...process.env, HUB_URL: hub.url, HUB_KEY: hub.adminToken } },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      ),
    );
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/version 1, 13 files/);
    const { milkingMilkWeight: _w, ...bad } = visit(1);
    expect((await pushResources(hub, id, pushKey, [bad])).status).to.equal(400);
  });
});
