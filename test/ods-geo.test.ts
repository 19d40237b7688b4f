import { expect } from 'chai';
import { createDataset, uniqueId, type DatasetKeys } from './helpers/data.js';
import { call, type Reply } from './helpers/http.js';
import { type TestHub } from './helpers/hub.js';
import { odsDataset, odsPush, odsRecords } from './helpers/ods.js';

/** A farm and where it is, as a herd app pushes it: `{"lon","lat"}` or ODS's "lat,lon" text. */
interface Farm {
  farm_id: string;
  name: string;
  region: string;
  cows: number;
  location?: { lon: number; lat: number } | string;
}

const at = (lat: number, lon: number) => ({ lon, lat });
const FARMS: Farm[] = [
  { farm_id: 'F01', name: 'Ferme de Rennes', region: 'Bretagne', cows: 120, location: at(48.1173, -1.6778) },
  { farm_id: 'F02', name: 'GAEC de Cesson', region: 'Bretagne', cows: 85, location: '48.1211,-1.6031' },
  { farm_id: 'F03', name: 'EARL de Bruz', region: 'Bretagne', cows: 60, location: at(48.0246, -1.7458) },
  { farm_id: 'F04', name: 'Ferme de Vitré', region: 'Bretagne', cows: 140, location: at(48.1236, -1.2088) },
  { farm_id: 'F05', name: 'Laiterie de Caen', region: 'Normandie', cows: 200, location: '49.1829, -0.3707' },
  { farm_id: 'F06', name: 'Ferme du Bessin', region: 'Normandie', cows: 95, location: at(49.2764, -0.7024) },
  { farm_id: 'F07', name: 'GAEC des Volcans', region: 'Auvergne', cows: 70, location: at(45.7772, 3.087) },
  { farm_id: 'F08', name: 'Ferme du Cantal', region: 'Auvergne', cows: 55, location: '44.9264,2.4418' },
  { farm_id: 'F09', name: 'Ferme sans adresse', region: 'Auvergne', cows: 10 },
  { farm_id: 'F10', name: 'Ferme mal saisie', region: 'Auvergne', cows: 12, location: '' },
];

/** Where a farm is, whichever way it was written. */
function pointOf(f: Farm): { lat: number; lon: number } | undefined {
  if (f.location === undefined) return undefined;
  if (typeof f.location !== 'string') return f.location;
  const [lat, lon] = f.location.split(',').map(Number);
  return Number.isFinite(lat) && Number.isFinite(lon) ? { lat: lat!, lon: lon! } : undefined;
}

/** Great-circle distance in km, written independently of the hub's. */
function km(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const r = Math.PI / 180;
  const x = Math.sin(((b.lat - a.lat) * r) / 2) ** 2;
  const y = Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(((b.lon - a.lon) * r) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.sqrt(x + y));
}

interface V1Cluster {
  cluster_center: [number, number];
  count: number;
  cluster: { type: string; coordinates: unknown };
  bbox: [number, number, number, number];
}
interface V1Answer {
  clusters: V1Cluster[];
  count: { min: number; max: number };
}

/** What a cluster of these farms must be: their count, centroid and envelope. */
function expectedCluster(farms: Farm[]) {
  const ps = farms.map((f) => pointOf(f)!);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  return {
    count: ps.length,
    lat: mean(ps.map((p) => p.lat)),
    lon: mean(ps.map((p) => p.lon)),
    bbox: [
      Math.min(...ps.map((p) => p.lon)),
      Math.min(...ps.map((p) => p.lat)),
      Math.max(...ps.map((p) => p.lon)),
      Math.max(...ps.map((p) => p.lat)),
    ],
  };
}

describe('ODS geo: within_distance, in_bbox and geo clustering (docs/ods.md#geo)', () => {
  let hub: TestHub;
  let ds: string;
  let keys: DatasetKeys;
  const RENNES = pointOf(FARMS[0]!)!;

  before(async () => {
    ({ hub, ds, keys } = await odsDataset('farms', FARMS, {
      config: { title: 'Farm register', uniqueKeys: ['farm_id'] },
    }));
  });
  after(() => hub.close());

  const ids = async (where: string, dataset = ds, key = keys.readKey): Promise<string[]> =>
    (await odsRecords(hub, dataset, key, { where, select: 'farm_id', limit: 100 })).results
      .map((r) => r.farm_id as string)
      .sort();

  function geocluster(
    params: Record<string, string | number>,
    key: string | null = keys.readKey,
  ): Promise<Reply> {
    const qs = new URLSearchParams({ dataset: ds });
    for (const [k, v] of Object.entries(params)) qs.set(k, String(v));
    if (key) qs.set('apikey', key);
    return call(`${hub.url}/api/records/1.0/geocluster/?${qs}`);
  }

  it('when within_distance is used, then exactly the farms that close to the point are returned, in any unit', async () => {
    const within = (d: number) =>
      FARMS.filter((f) => pointOf(f) && km(pointOf(f)!, RENNES) <= d)
        .map((f) => f.farm_id)
        .sort();
    const centre = `geom'POINT(${RENNES.lon} ${RENNES.lat})'`;
    expect(await ids(`within_distance(location, ${centre}, 10km)`))
      .to.deep.equal(within(10))
      .and.deep.equal(['F01', 'F02']);
    expect(await ids(`within_distance(location, ${centre}, 12km)`)).to.deep.equal(['F01', 'F02', 'F03']);
    expect(await ids(`within_distance(location, ${centre}, 5000m)`)).to.deep.equal(['F01']);
    expect(await ids(`within_distance(location, ${centre}, 25mi)`)).to.deep.equal(within(25 * 1.609344));
    expect(await ids(`within_distance(location, ${centre}, 400km)`))
      .to.deep.equal(within(400))
      .and.include('F05');
    // a GeoJSON point is a centre too, and the predicate combines with others
    const geojson = `geom'{"type":"Point","coordinates":[${RENNES.lon},${RENNES.lat}]}'`;
    expect(await ids(`within_distance(location, ${geojson}, 40km) and cows >= 100`)).to.deep.equal([
      'F01',
      'F04',
    ]);
    expect(await ids(`not within_distance(location, ${centre}, 400km)`)).to.deep.equal([
      'F07',
      'F08',
      'F09',
      'F10',
    ]);
  });

  it('when in_bbox is used, then the farms in the box of the two corners are returned, in whichever order the corners come', async () => {
    expect(await ids('in_bbox(location, 48.0, -1.8, 48.2, -1.5)')).to.deep.equal(['F01', 'F02', 'F03']);
    expect(await ids('in_bbox(location, 48.2, -1.5, 48.0, -1.8)')).to.deep.equal(['F01', 'F02', 'F03']);
    // edges are in: the box of Caen alone
    expect(await ids('in_bbox(location, 49.1829, -0.3707, 49.1829, -0.3707)')).to.deep.equal(['F05']);
    expect(await ids('in_bbox(location, 44, 2, 46, 4) or region = "Normandie"')).to.deep.equal([
      'F05',
      'F06',
      'F07',
      'F08',
    ]);
  });

  it('when a map asks the v1 geocluster API at a low precision, then farms cluster per cell with count, centroid and bounding box', async () => {
    // precision 1: cells are 45° wide from -180°, so the Greenwich meridian splits west from east
    const r = await geocluster({ clusterprecision: 1 });
    expect(r.status).to.equal(200);
    const answer = r.json as V1Answer;
    const west = expectedCluster(FARMS.filter((f) => pointOf(f) && pointOf(f)!.lon < 0));
    const east = expectedCluster(FARMS.filter((f) => pointOf(f) && pointOf(f)!.lon >= 0));
    const byCount = [...answer.clusters].sort((a, b) => b.count - a.count);
    expect(byCount.map((c) => c.count)).to.deep.equal([6, 2]); // F09 and F10 have no point
    for (const [c, want] of [
      [byCount[0]!, west],
      [byCount[1]!, east],
    ] as const) {
      expect(c.cluster_center[0]).to.be.closeTo(want.lat, 1e-9);
      expect(c.cluster_center[1]).to.be.closeTo(want.lon, 1e-9);
      expect(c.bbox).to.deep.equal(want.bbox);
      expect(c.cluster).to.deep.equal({
        type: 'Point',
        coordinates: [c.cluster_center[1], c.cluster_center[0]],
      });
    }
    expect(answer.count).to.deep.equal({ min: 2, max: 6 });
  });

  it('when the map zooms in and sends its view as geofilter.bbox, then only the farms in view are clustered, finer', async () => {
    const view = '47.9,-1.9,48.3,-1.1'; // around Rennes
    const coarse = (await geocluster({ clusterprecision: 5, 'geofilter.bbox': view })).json as V1Answer;
    expect(coarse.clusters.map((c) => c.count)).to.deep.equal([4]);
    expect(coarse.clusters[0]!.bbox).to.deep.equal(expectedCluster(FARMS.slice(0, 4)).bbox);

    // at street level every farm is its own cluster, a point
    const fine = (await geocluster({ clusterprecision: 20, 'geofilter.bbox': view })).json as V1Answer;
    expect(fine.clusters).to.have.length(4);
    expect(fine.count).to.deep.equal({ min: 1, max: 1 });
    const centres = fine.clusters.map((c) => c.cluster_center).sort((a, b) => a[1] - b[1]);
    expect(centres).to.deep.equal(
      FARMS.slice(0, 4)
        .map((f) => [pointOf(f)!.lat, pointOf(f)!.lon])
        .sort((a, b) => a[1]! - b[1]!),
    );

    // polygons on request: the envelope of the cluster's points
    const polygons = (
      await geocluster({ clusterprecision: 5, 'geofilter.bbox': view, return_polygons: 'true' })
    ).json as V1Answer;
    const [w, s, e, n] = expectedCluster(FARMS.slice(0, 4)).bbox as [number, number, number, number];
    expect(polygons.clusters[0]!.cluster).to.deep.equal({
      type: 'Polygon',
      coordinates: [
        [
          [w, s],
          [e, s],
          [e, n],
          [w, n],
          [w, s],
        ],
      ],
    });

    // geofilter.distance, q and refine narrow it the way the search API does
    const near = (
      await geocluster({ clusterprecision: 1, 'geofilter.distance': `${RENNES.lat},${RENNES.lon},12000` })
    ).json as V1Answer;
    expect(near.clusters.map((c) => c.count)).to.deep.equal([3]);
    const refined = (await geocluster({ clusterprecision: 1, 'refine.region': 'Normandie' }))
      .json as V1Answer;
    expect(refined.clusters.map((c) => c.count)).to.deep.equal([2]);
    const searched = (await geocluster({ clusterprecision: 1, q: 'gaec' })).json as V1Answer;
    expect(searched.clusters.map((c) => c.count).sort()).to.deep.equal([1, 1]);
  });

  it('when the v2.1 records API groups by geo_cluster, then it answers the same clusters, records without a point in a null group', async () => {
    const r = await odsRecords(hub, ds, keys.readKey, {
      select: 'count(*) as farms, sum(cows) as cows',
      group_by: 'geo_cluster(location, 1) as cluster',
      order_by: 'farms desc',
    });
    const west = FARMS.filter((f) => pointOf(f) && pointOf(f)!.lon < 0);
    const w = expectedCluster(west);
    expect(r.results).to.have.length(3);
    const [first, second, third] = r.results as Array<{
      cluster: Record<string, unknown> | null;
      farms: number;
      cows: number;
    }>;
    expect(first!.farms).to.equal(6);
    expect(first!.cows).to.equal(west.reduce((s, f) => s + f.cows, 0));
    expect(first!.cluster).to.deep.include({ count: 6, bbox: w.bbox });
    const centre = first!.cluster!.cluster_center as { lon: number; lat: number };
    expect(centre.lat).to.be.closeTo(w.lat, 1e-9);
    expect(centre.lon).to.be.closeTo(w.lon, 1e-9);
    expect(second!.farms).to.equal(2);
    expect(third).to.deep.equal({ cluster: null, farms: 2, cows: 22 });

    // geo_cluster in select alone groups by itself
    const selected = await odsRecords(hub, ds, keys.readKey, {
      select: 'geo_cluster(location, 1) as c, count(*) as n',
      where: 'location is not null and in_bbox(location, 40, -5, 52, 8)',
      order_by: 'n',
    });
    expect(selected.results.map((x) => x.n)).to.deep.equal([2, 6]);
  });

  it('when a farm moves and another is deleted, then the clusters follow', async () => {
    const id = uniqueId('moves');
    const k = await createDataset(hub, id, { uniqueKeys: ['farm_id'] });
    await odsPush(hub, id, k.pushKey, FARMS);
    const counts = async () => {
      const r = await call(
        `${hub.url}/api/records/1.0/geocluster?dataset=${id}&clusterprecision=1&apikey=${k.readKey}`,
      );
      return (r.json as V1Answer).clusters.map((c) => c.count).sort();
    };
    expect(await counts()).to.deep.equal([2, 6]);
    // Ferme de Vitré moves to the Cantal
    await odsPush(hub, id, k.pushKey, [{ ...FARMS[3]!, location: at(45.0, 2.5) }]);
    expect(await counts()).to.deep.equal([3, 5]);
    await odsPush(hub, id, k.pushKey, [FARMS[4]], 'delete');
    expect(await counts()).to.deep.equal([3, 4]);
  });

  it('when geo parameters or functions are wrong, then 400 with a message saying what is expected', async () => {
    const v1: Array<[Record<string, string>, RegExp]> = [
      [{}, /clusterprecision is required/],
      [{ clusterprecision: 'near' }, /clusterprecision/],
      [{ clusterprecision: '31' }, /clusterprecision/],
      [{ clusterprecision: '5', 'geofilter.bbox': '48,-2,49' }, /4 comma-separated numbers/],
      [{ clusterprecision: '5', 'geofilter.bbox': '95,-2,49,-1' }, /latitudes are within ±90/],
      [{ clusterprecision: '5', 'geofilter.distance': '48,-2,far' }, /3 comma-separated numbers/],
      [{ clusterprecision: '5', field: 'a`b' }, /backquote/],
      [{ clusterprecision: '5', return_polygons: 'maybe' }, /true or false/],
    ];
    for (const [params, message] of v1) {
      const r = await geocluster(params);
      expect(r.status, JSON.stringify(params)).to.equal(400);
      expect((r.json as { error_code: string }).error_code).to.equal('InvalidRESTParameterError');
      expect((r.json as { message: string }).message).to.match(message);
    }
    // a map at zoom 0 or 22 is served (as precision 1 or 20)
    expect((await geocluster({ clusterprecision: 0 })).status).to.equal(200);
    expect((await geocluster({ clusterprecision: 22 })).status).to.equal(200);

    // a dataset without any place cannot be clustered unless a field is named
    const plain = uniqueId('plain');
    const pk = await createDataset(hub, plain);
    await odsPush(hub, plain, pk.pushKey, [{ n: 1 }]);
    const none = await call(
      `${hub.url}/api/records/1.0/geocluster?dataset=${plain}&clusterprecision=3&apikey=${pk.readKey}`,
    );
    expect(none.status).to.equal(400);
    expect((none.json as { message: string }).message).to.match(/no geo_point_2d field/);

    const odsql = [
      "within_distance(location, geom'LINESTRING(0 0, 1 1)', 10km)",
      "within_distance(location, geom'POINT(2 95)', 10km)",
      "within_distance(location, geom'POINT(2 45)', 10parsecs)",
      "within_distance(location, 'here', 10km)",
      "within_distance('48.1,-1.6', geom'POINT(2 45)', 10km)",
      'in_bbox(location, 48, -2, "49", -1)',
      'in_bbox(location, 48, -200, 49, -1)',
      'in_bbox(location, 48, -2)',
      'geo_cluster(location, 21) = "x"',
    ];
    for (const where of odsql) {
      const r = await call(
        `${hub.url}/api/explore/v2.1/catalog/datasets/${ds}/records?apikey=${keys.readKey}&where=${encodeURIComponent(where)}`,
      );
      expect(r.status, where).to.equal(400);
      expect((r.json as { error_code: string }).error_code, where).to.equal('ODSQLError');
    }
  });

  it('when a location cannot be read as a point, then the field is text in the catalog, geocluster takes it with field= and leaves that record out', async () => {
    const id = uniqueId('typo');
    const k = await createDataset(hub, id, { uniqueKeys: ['farm_id'] });
    await odsPush(hub, id, k.pushKey, [...FARMS.slice(0, 3), { ...FARMS[3]!, location: 'près de Vitré' }]);
    const entry = await call(`${hub.url}/api/explore/v2.1/catalog/datasets/${id}?apikey=${k.readKey}`);
    expect((entry.json as { fields: unknown[] }).fields).to.deep.include({ name: 'location', type: 'text' });
    const url = `${hub.url}/api/records/1.0/geocluster?dataset=${id}&clusterprecision=1&apikey=${k.readKey}`;
    expect((await call(url)).status).to.equal(400);
    const named = await call(`${url}&field=location`);
    expect((named.json as V1Answer).clusters.map((c) => c.count)).to.deep.equal([3]);
  });

  it('when the caller may not read the dataset, then geocluster is 401 or 403 whatever its parameters', async () => {
    const other = uniqueId('other');
    const ok = await createDataset(hub, other);
    expect((await geocluster({ clusterprecision: 'garbage' }, null)).status).to.equal(401);
    expect((await geocluster({ 'geofilter.bbox': 'x' }, ok.readKey)).status).to.equal(403);
    expect((await geocluster({}, 'f'.repeat(32))).status).to.equal(401);
  });

  it('when a map in a browser asks for clusters, then the answer carries CORS and JSONP works', async () => {
    const r = await call(
      `${hub.url}/api/records/1.0/geocluster?dataset=${ds}&clusterprecision=1&apikey=${keys.readKey}&callback=onClusters`,
      { headers: { origin: 'https://maps.example' } },
    );
    expect(r.status).to.equal(200);
    expect(r.headers.get('access-control-allow-origin')).to.equal('*');
    expect(r.text).to.match(/^\/\*\*\/ onClusters\(\{"clusters":\[/);
  });
});
