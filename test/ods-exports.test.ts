import { expect } from 'chai';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import XLSX from 'xlsx';
import { type DatasetKeys } from './helpers/data.js';
import { call } from './helpers/http.js';
import { type TestHub } from './helpers/hub.js';
import { odsDataset } from './helpers/ods.js';
import { fromCatalog, rawClientFor, type RawAnswer } from './helpers/ods-client.js';

const ROWS = Array.from({ length: 20 }, (_, n) => ({
  n,
  farm: n % 2 ? 'Paris' : 'Lyon',
  kg: n + 0.5,
  organic: n % 3 === 0,
  // every pushed form of a point
  at:
    n % 3 === 0
      ? `${45.5 + n / 100},${4.5 + n / 100}`
      : n % 3 === 1
        ? [45.5 + n / 100, 4.5 + n / 100]
        : { lon: 4.5 + n / 100, lat: 45.5 + n / 100 },
}));

describe('ODS exports: geojson, xlsx, parquet and the catalog exports, through @opendatasoft/api-client', () => {
  let hub: TestHub;
  let ds: string;
  let keys: DatasetKeys;
  let client: ReturnType<typeof rawClientFor>;
  before(async () => {
    ({ hub, ds, keys } = await odsDataset('exports', ROWS));
    client = rawClientFor(hub, keys.readKey);
  });
  after(() => hub.close());

  const exported = (format: string) =>
    fromCatalog()
      .dataset(ds)
      .export(format as 'json')
      .where('kg > 5')
      .select('n, farm, kg, organic, at')
      .orderBy('n desc')
      .limit(4);
  const expectedNs = [19, 18, 17, 16];

  it('when geojson is exported, then each result is a Feature whose Point is the geo_point_2d field', async () => {
    const r = await client.get<RawAnswer>(exported('geojson'));
    expect(r.status).to.equal(200);
    expect(r.type).to.match(/^application\/geo\+json/);
    const fc = JSON.parse(new TextDecoder().decode(r.bytes)) as {
      type: string;
      features: {
        type: string;
        geometry: { type: string; coordinates: number[] };
        properties: Record<string, unknown>;
      }[];
    };
    expect(fc.type).to.equal('FeatureCollection');
    expect(fc.features.map((f) => f.properties.n)).to.deep.equal(expectedNs);
    const f = fc.features[0]!;
    expect(f.type).to.equal('Feature');
    expect(f.geometry).to.deep.equal({ type: 'Point', coordinates: [4.69, 45.69] });
    expect(f.properties).to.deep.equal({ n: 19, farm: 'Paris', kg: 19.5, organic: false });
  });

  it('when xlsx is exported, then a spreadsheet reader finds the header and the rows, typed', async () => {
    const r = await client.get<RawAnswer>(exported('xlsx'));
    expect(r.status).to.equal(200);
    const wb = XLSX.read(r.bytes, { type: 'array' });
    const rows = XLSX.utils.sheet_to_json<unknown[]>(wb.Sheets[wb.SheetNames[0]!]!, { header: 1 });
    expect(rows[0]).to.deep.equal(['n', 'farm', 'kg', 'organic', 'at']);
    expect(rows.slice(1).map((row) => row[0])).to.deep.equal(expectedNs);
    expect(rows[1]!.slice(0, 4)).to.deep.equal([19, 'Paris', 19.5, false]);
    expect(JSON.parse(rows[1]![4] as string)).to.deep.equal({ lon: 4.69, lat: 45.69 });
  });

  it('when parquet is exported, then a parquet reader finds the columns with their types and the rows', async () => {
    const r = await client.get<RawAnswer>(exported('parquet'));
    expect(r.status).to.equal(200);
    const file = r.bytes.buffer.slice(
      r.bytes.byteOffset,
      r.bytes.byteOffset + r.bytes.byteLength,
    ) as ArrayBuffer;
    const meta = parquetMetadata(file);
    const types = Object.fromEntries(meta.schema.slice(1).map((s) => [s.name, s.type]));
    expect(types).to.deep.equal({
      n: 'DOUBLE',
      farm: 'BYTE_ARRAY',
      kg: 'DOUBLE',
      organic: 'BOOLEAN',
      at: 'BYTE_ARRAY',
    });
    const rows = await parquetReadObjects({ file });
    expect(rows.map((x) => x.n)).to.deep.equal(expectedNs);
    expect(rows[0]).to.deep.include({ n: 19, farm: 'Paris', kg: 19.5, organic: false });
    expect(JSON.parse(rows[0]!.at as string)).to.deep.equal({ lon: 4.69, lat: 45.69 });
  });

  it('when an analysis is exported as parquet, then its groups are the rows', async () => {
    const r = await client.get<RawAnswer>(
      fromCatalog().dataset(ds).export('parquet').select('farm, count(*) as c').groupBy('farm'),
    );
    const file = r.bytes.buffer.slice(
      r.bytes.byteOffset,
      r.bytes.byteOffset + r.bytes.byteLength,
    ) as ArrayBuffer;
    expect(await parquetReadObjects({ file })).to.deep.equal([
      { farm: 'Lyon', c: 10 },
      { farm: 'Paris', c: 10 },
    ]);
  });

  it('when the catalog is exported as json, jsonl and csv, then each lists the readable datasets', async () => {
    const json = await client.get<RawAnswer>(fromCatalog().export('json'));
    expect(json.status).to.equal(200);
    const list = JSON.parse(new TextDecoder().decode(json.bytes)) as {
      dataset_id: string;
      records_count: number;
    }[];
    expect(list.map((d) => [d.dataset_id, d.records_count])).to.deep.equal([[ds, 20]]);
    const jsonl = await client.get<RawAnswer>(fromCatalog().export('jsonl' as 'json'));
    const lines = new TextDecoder().decode(jsonl.bytes).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { dataset_id: string }).dataset_id)).to.deep.equal([ds]);
    const csv = new TextDecoder().decode((await client.get<RawAnswer>(fromCatalog().export('csv'))).bytes);
    const [header, row] = csv.trim().split('\n');
    expect(header!.split(';').slice(0, 4)).to.deep.equal([
      'dataset_id',
      'title',
      'records_count',
      'data_processed',
    ]);
    expect(row!.split(';').slice(0, 3)).to.deep.equal([ds, ds, '20']);
    const none = await client.get<RawAnswer>(fromCatalog().export('json').where('records_count > 20'));
    expect(JSON.parse(new TextDecoder().decode(none.bytes))).to.deep.equal([]);
    const zero = await client.get<RawAnswer>(fromCatalog().export('json').limit(0));
    expect(JSON.parse(new TextDecoder().decode(zero.bytes))).to.deep.equal([]);
    const bad = await call(`${hub.url}/api/explore/v2.1/catalog/exports/xml`);
    expect(bad.status).to.equal(400);
    expect(bad.json).to.deep.include({ error_code: 'InvalidRESTParameterError' });
  });
});
