import type { QueryRow } from '../../query/odsql/values.js';
import type { JsonObject, JsonValue } from '../../store/types.js';
import { configOf } from '../../domain/config.js';
import { datasetContextText, recordUrl } from '../../domain/dataset-context.js';
import { recordFields } from '../../query/field-types.js';
import { UDA_CORE } from '../../domain/jsonld-loader.js';
import type { FeedContext, FeedItem } from '../../domain/jsonld-feed.js';
import type { JsonLdPool } from '../../domain/jsonld-pool.js';
import type { Change } from '../../store/types.js';
import type { KindRenderer, RenderContext } from '../pull/render.js';

const plainRecord = (change: Change): string =>
  `{"recordid":${JSON.stringify(change.key)},"record_timestamp":"${new Date(change.recorded).toISOString()}",` +
  `"fields":${change.doc}${change.deleted ? ',"deleted":true' : ''}}`;

/** A record as a node: its record URL as `@id`, its fields, when it was recorded and whether deleted. */
const recordItem = (change: Change, rc: RenderContext): FeedItem => ({
  doc: change.doc,
  id: recordUrl(rc.baseUrl, rc.dataset.name, change.key),
  extra: {
    [`${UDA_CORE}recorded`]: [{ '@value': change.recorded }],
    [`${UDA_CORE}deleted`]: [{ '@value': change.deleted }],
  },
});

/** The dataset's generated vocabulary, with its default context over it when it names one. */
const recordContext = (rc: RenderContext): FeedContext => ({
  text: datasetContextText(rc.dataset, rc.baseUrl, recordFields(rc.dataset.attrs)),
  override: configOf(rc.dataset).context,
});

/**
 * Records (kind `record`: ODS pushes, Obsrv events, scheduled pulls) in the ICAR /changes feed, in
 * the ODS record shape: `{"recordid","record_timestamp","fields"}` plus `"deleted": true` for
 * deletes (whose fields are the record's last ones). The stored text is spliced in, not re-parsed.
 * With format=jsonld, each record is a node of the dataset's vocabulary (src/domain/dataset-context.ts),
 * made on the JSON-LD pool.
 */
export function recordRenderer(pool: JsonLdPool): KindRenderer {
  return {
    render: async (change, rc) =>
      rc.format === 'jsonld'
        ? (await pool.feed([recordItem(change, rc)], recordContext(rc)))[0]!
        : plainRecord(change),
    renderBatch: (changes, rc) =>
      pool.feed(
        changes.map((c) => recordItem(c, rc)),
        recordContext(rc),
      ),
  };
}

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
