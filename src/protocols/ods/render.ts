import type { QueryRow } from '../../domain/odsql/values.js';
import type { JsonObject, JsonValue } from '../../store/types.js';
import type { KindRenderer } from '../pull/render.js';

/**
 * Records (kind `record`: ODS pushes, Obsrv events, scheduled pulls) in the ICAR /changes feed, in
 * the ODS record shape: `{"recordid","record_timestamp","fields"}` plus `"deleted": true` for
 * deletes (whose fields are the record's last ones). The stored text is spliced in, not re-parsed.
 */
export const recordRenderer: KindRenderer = {
  render: (change) =>
    `{"recordid":${JSON.stringify(change.key)},"record_timestamp":"${new Date(change.recorded).toISOString()}",` +
    `"fields":${change.doc}${change.deleted ? ',"deleted":true' : ''}}`,
};

/** A record of the v1 search API. */
export function v1Record(dataset: string, row: QueryRow): JsonObject {
  return {
    datasetid: dataset,
    recordid: row.recordid,
    fields: row.fields,
    record_timestamp: new Date(row.recorded).toISOString(),
  };
}

const num = (v: JsonValue | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

/** One cluster of the v1 geocluster API, from a geo_cluster() group (see ClusterSummary). */
function v1Cluster(summary: JsonValue | undefined, polygons: boolean): JsonObject | undefined {
  if (summary === null || typeof summary !== 'object' || Array.isArray(summary)) return undefined;
  const centre = summary.cluster_center;
  const box = summary.bbox;
  const count = num(summary.count);
  if (centre === null || typeof centre !== 'object' || Array.isArray(centre) || !Array.isArray(box))
    return undefined;
  const lat = num(centre.lat);
  const lon = num(centre.lon);
  const [west, south, east, north] = box.map(num);
  if ([lat, lon, west, south, east, north, count].some((x) => x === undefined)) return undefined;
  const point: JsonObject = { type: 'Point', coordinates: [lon!, lat!] };
  const flat = west === east && south === north;
  const envelope: JsonObject = {
    type: 'Polygon',
    coordinates: [
      [
        [west!, south!],
        [east!, south!],
        [east!, north!],
        [west!, north!],
        [west!, south!],
      ],
    ],
  };
  return {
    // [lat, lon]: the order ODS map widgets hand to Leaflet
    cluster_center: [lat!, lon!],
    count: count!,
    cluster: polygons && !flat ? envelope : point,
    bbox: [west!, south!, east!, north!],
  };
}

/**
 * The v1 geocluster answer: `{"clusters":[{"cluster_center":[lat,lon],"count","cluster":GeoJSON,
 * "bbox":[west,south,east,north]}],"count":{"min","max"}}` (count min/max size the markers).
 */
export function v1GeoClusters(rows: readonly JsonObject[], polygons: boolean): JsonObject {
  const clusters: JsonObject[] = [];
  let min = Infinity;
  let max = 0;
  for (const r of rows) {
    const c = v1Cluster(r.cluster, polygons);
    if (!c) continue; // the group of records without a point
    clusters.push(c);
    const n = c.count as number;
    if (n < min) min = n;
    if (n > max) max = n;
  }
  return { clusters, count: { min: clusters.length > 0 ? min : 0, max } };
}
