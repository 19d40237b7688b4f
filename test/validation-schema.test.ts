import { expect } from 'chai';
import { schemaCompilations } from '../src/domain/validation.js';
import { createDataset, milking, pushResources, uniqueId } from './helpers/data.js';
import { call } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { envelope, figures, ingest, telemetry, type ObsrvErrorBody } from './helpers/obsrv.js';

/** A schema over ICAR milking visits; Obsrv events and ODS records carry the same documents. */
const MILKING_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['resourceType', 'animal', 'milkingMilkWeight'],
  properties: {
    resourceType: { type: 'string' },
    animal: {
      type: 'object',
      required: ['id'],
      properties: { id: { type: 'string', pattern: '^[0-9]{15}$' } },
    },
    milkingMilkWeight: {
      type: 'object',
      required: ['unitCode', 'value'],
      properties: { unitCode: { const: 'KGM' }, value: { type: 'number', minimum: 0 } },
    },
    eventDateTime: { type: 'string', format: 'date-time' },
  },
};

interface Rejection {
  readonly status: number;
  readonly message?: string;
  /** the bad record's index: the body's index field, or where the protocol names it (ODS: its message) */
  readonly index?: number;
}

/**
 * Every push protocol, driven with the same documents. `position` maps a document's place in the
 * list to the index the protocol reports (ICAR counts its context element).
 */
interface PushProtocol {
  readonly name: string;
  push(hub: TestHub, id: string, key: string, docs: Record<string, unknown>[]): Promise<Rejection>;
  position(i: number): number;
}

const hubError = (json: unknown) => (json as { error?: { message?: string; index?: number } }).error;

const PROTOCOLS: PushProtocol[] = [
  {
    name: 'ICAR',
    async push(hub, id, key, docs) {
      const r = await pushResources(hub, id, key, docs);
      return { status: r.status, message: hubError(r.json)?.message, index: hubError(r.json)?.index };
    },
    position: (i) => i + 1,
  },
  {
    name: 'Obsrv',
    async push(hub, id, key, docs) {
      const r = await ingest(hub, id, key, envelope(docs));
      const err = (r.json as Partial<ObsrvErrorBody>).error;
      return { status: r.status, message: err?.message, index: err?.index };
    },
    position: (i) => i,
  },
  {
    name: 'ODS',
    async push(hub, id, key, docs) {
      // the ODS error body is {status, errorcode, error}: the message names the element
      const r = await call(`${hub.url}/api/push/1.0/${id}/realtime/push/?pushkey=${key}`, {
        raw: JSON.stringify(docs),
      });
      const body = r.json as { error?: string };
      // ODS's push error body has no index field: its message is where ODS names the element
      const named = /^element (\d+) /.exec(body.error ?? '');
      return { status: r.status, message: body.error, index: named ? Number(named[1]) : undefined };
    },
    position: (i) => i,
  },
];

describe('dataset schema validation on every push route (docs/datasets.md#validation)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  const putConfig = (id: string, config: object) =>
    call(`${hub.url}/datasets/${id}`, { method: 'PUT', token: hub.adminToken, body: config });

  for (const p of PROTOCOLS) {
    it(`when the same schema meets the same bad record through ${p.name}, then the whole request is rejected naming the record's index and ajv's message, and nothing is stored`, async () => {
      const id = uniqueId(p.name.toLowerCase());
      const { pushKey } = await createDataset(hub, id, { schema: MILKING_SCHEMA });
      const bad = milking(2, 'com.example.robot', { milkingMilkWeight: { unitCode: 'KGM', value: 'heavy' } });
      const r = await p.push(hub, id, pushKey, [milking(1), bad, milking(3)]);
      expect(r.status, r.message).to.equal(400);
      expect(r.message).to.include(
        `element ${p.position(1)} does not match the dataset schema: #/milkingMilkWeight/value must be number`,
      );
      expect(r.index, `${p.name} names the bad record's index`).to.equal(p.position(1));
      expect(await figures(hub, id)).to.deep.equal({ lastSeq: 0, count: 0 });

      const late = milking(4, 'com.example.robot', { eventDateTime: 'yesterday' });
      const r2 = await p.push(hub, id, pushKey, [late]);
      expect(r2.status).to.equal(400);
      expect(r2.message)
        .to.include(`element ${p.position(0)} `)
        .and.include('#/eventDateTime must match format');
      expect((await figures(hub, id)).lastSeq).to.equal(0);
    });

    it(`when the records match the schema, then ${p.name} stores them all`, async () => {
      const id = uniqueId(p.name.toLowerCase());
      const { pushKey } = await createDataset(hub, id, { schema: MILKING_SCHEMA });
      const r = await p.push(hub, id, pushKey, [milking(1), milking(2), milking(3)]);
      expect(r.status, r.message).to.equal(200);
      expect((await figures(hub, id)).count).to.equal(3);
    });
  }

  it('when a schema violation is answered in the hub body, then it carries the index, the JSON pointer of the value and the failed keyword', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id, { schema: MILKING_SCHEMA });
    const r = await pushResources(hub, id, pushKey, [milking(1, 'x', { animal: { id: 'cow' } })]);
    expect(r.status).to.equal(400);
    // ICAR answers RFC 9457 problem+json; the hub's `error` member keeps its first-error fields
    const problem = {
      index: 1,
      path: '/animal/id',
      keyword: 'pattern',
      message: '#/animal/id must match pattern "^[0-9]{15}$"',
    };
    expect((r.json as { error: unknown }).error).to.deep.equal({
      code: 'SCHEMA_VIOLATION',
      message: 'element 1 does not match the dataset schema: #/animal/id must match pattern "^[0-9]{15}$"',
      index: 1,
      path: '/animal/id',
      keyword: 'pattern',
      errors: [problem],
    });
    expect((r.json as { errors: unknown }).errors).to.deep.equal([problem]);
  });

  describe('validation modes', () => {
    const closed = {
      type: 'object',
      required: ['eid', 'ets'],
      properties: {
        eid: { enum: ['INTERACT', 'IMPRESSION'] },
        ets: { type: 'integer' },
        mid: { type: 'string' },
        date: { type: 'string' },
        actor: {
          type: 'object',
          properties: { id: { type: 'string' }, type: { type: 'string' } },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    };

    it('when strict, then an undeclared field (top-level or nested) rejects the request and the message names the field', async () => {
      const id = uniqueId();
      const { pushKey } = await createDataset(hub, id, { schema: closed, validationMode: 'strict' });
      const top = await ingest(hub, id, pushKey, envelope([telemetry(1), telemetry(2, { color: 'red' })]));
      expect(top.status).to.equal(400);
      expect((top.json as ObsrvErrorBody).error).to.deep.include({
        index: 1,
        message:
          "element 1 does not match the dataset schema: # must NOT have additional properties ('color')",
      });
      const nested = await ingest(
        hub,
        id,
        pushKey,
        envelope([telemetry(1, { actor: { id: 'a', type: 'robot', firmware: '2.1' } })]),
      );
      expect((nested.json as ObsrvErrorBody).error.message).to.match(
        /#\/actor must NOT have additional properties \('firmware'\)$/,
      );
      expect((await figures(hub, id)).lastSeq).to.equal(0);
    });

    it('when ignore-new-fields, then undeclared fields pass (top-level and nested) but any other violation still rejects the whole request', async () => {
      const id = uniqueId();
      const { pushKey } = await createDataset(hub, id, {
        schema: closed,
        validationMode: 'ignore-new-fields',
      });
      const ok = await ingest(
        hub,
        id,
        pushKey,
        envelope([telemetry(1, { color: 'red' }), telemetry(2, { actor: { id: 'a', firmware: '2.1' } })]),
      );
      expect(ok.status, ok.text).to.equal(200);
      expect((await figures(hub, id)).count).to.equal(2);

      const bad = await ingest(
        hub,
        id,
        pushKey,
        envelope([telemetry(3, { color: 'red' }), telemetry(4, { eid: 'SEARCH' })]),
      );
      expect(bad.status).to.equal(400);
      expect((bad.json as ObsrvErrorBody).error).to.deep.include({
        index: 1,
        message:
          'element 1 does not match the dataset schema: #/eid must be equal to one of the allowed values: ["INTERACT","IMPRESSION"]',
      });
      const wrongType = await ingest(hub, id, pushKey, envelope([telemetry(5, { ets: 'now', extra: 1 })]));
      expect((wrongType.json as ObsrvErrorBody).error.message).to.match(/#\/ets must be integer$/);
      expect((await figures(hub, id)).count).to.equal(2);
    });

    it('when ignore-new-fields meets closed objects inside oneOf branches and unevaluatedProperties (2020-12), then only the new fields are let through', async () => {
      const union = {
        oneOf: [
          {
            type: 'object',
            required: ['kind', 'weight'],
            properties: { kind: { const: 'milking' }, weight: { type: 'number' } },
            additionalProperties: false,
          },
          {
            type: 'object',
            required: ['kind', 'score'],
            properties: { kind: { const: 'condition' }, score: { type: 'integer' } },
            additionalProperties: false,
          },
        ],
      };
      const evaluated = {
        type: 'object',
        allOf: [{ properties: { a: { type: 'integer' } } }],
        unevaluatedProperties: false,
      };
      const doc = { kind: 'milking', weight: 10.5, robot: 'r-1' };
      for (const [schema, good, wrong] of [
        [union, doc, { ...doc, weight: 'heavy' }],
        [evaluated, { a: 1, b: 2 }, { a: 'x', b: 2 }],
      ] as const) {
        const strict = uniqueId();
        const lax = uniqueId();
        const ks = await createDataset(hub, strict, { schema });
        const kl = await createDataset(hub, lax, { schema, validationMode: 'ignore-new-fields' });
        expect((await ingest(hub, strict, ks.pushKey, envelope([good]))).status).to.equal(400);
        const passed = await ingest(hub, lax, kl.pushKey, envelope([good]));
        expect(passed.status, passed.text).to.equal(200);
        expect((await ingest(hub, lax, kl.pushKey, envelope([wrong]))).status).to.equal(400);
        expect((await figures(hub, lax)).count).to.equal(1);
      }
    });
  });

  it('when requests are pushed, then the schema compiled when the config was PUT is reused (no compilation per request), and a new config is compiled once and applies at once', async () => {
    const id = uniqueId();
    const schema = { ...MILKING_SCHEMA, title: `compile-once ${id}` };
    const before = schemaCompilations();
    const { pushKey } = await createDataset(hub, id, { schema });
    expect(schemaCompilations() - before).to.equal(1);
    for (let i = 0; i < 10; i++) {
      expect((await pushResources(hub, id, pushKey, [milking(i)])).status).to.equal(200);
      expect((await ingest(hub, id, pushKey, envelope([milking(100 + i)]))).status).to.equal(200);
    }
    expect(schemaCompilations() - before).to.equal(1);

    const stricter = { ...schema, required: [...schema.required, 'milkingDeviceId', 'fatPercent'] };
    expect((await putConfig(id, { schema: stricter })).status).to.equal(200);
    const r = await ingest(hub, id, pushKey, envelope([milking(200)]));
    expect(r.status).to.equal(400);
    expect((r.json as ObsrvErrorBody).error.message).to.match(/must have required property 'fatPercent'$/);
    for (let i = 0; i < 5; i++) await ingest(hub, id, pushKey, envelope([milking(300 + i)]));
    expect(schemaCompilations() - before).to.equal(2);

    expect((await putConfig(id, {})).status).to.equal(200);
    expect((await ingest(hub, id, pushKey, envelope([{ anything: true }]))).status).to.equal(200);
  });
});
