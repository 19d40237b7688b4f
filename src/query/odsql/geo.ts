import type { JsonObject, JsonValue } from '../../store/types.js';
import type { Value } from './values.js';

/**
 * Geographic values and measures for ODSQL (docs/ods.md#geo, geo_point_2d fields): reading a point from
 * any of the shapes ODS accepts, great-circle distances, boxes, and the grid map clusters use.
 */

export interface Point {
  readonly lat: number;
  readonly lon: number;
}

const inRange = (lat: number, lon: number): boolean =>
  Number.isFinite(lat) && Number.isFinite(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180;

const NUM = String.raw`[+-]?(?:\d+\.?\d*|\.\d+)`;
/** "lat,lon" as ODS writes geo_point_2d text: `48.85,2.35`, spaces allowed around the parts */
const LAT_LON = new RegExp(String.raw`^\s*(${NUM})\s*,\s*(${NUM})\s*$`);

const isObject = (v: Value): v is JsonObject =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);

/**
 * The point a value holds: `{"lon","lat"}` (numbers), `"lat,lon"` text, or a GeoJSON Point
 * `{"type":"Point","coordinates":[lon,lat]}`; undefined for anything else or out of range.
 */
export function toPoint(v: Value): Point | undefined {
  if (typeof v === 'string') {
    const m = LAT_LON.exec(v);
    if (!m) return undefined;
    const lat = Number(m[1]);
    const lon = Number(m[2]);
    return inRange(lat, lon) ? { lat, lon } : undefined;
  }
  if (isLatLonPair(v)) return inRange(v[0], v[1]) ? { lat: v[0], lon: v[1] } : undefined;
  if (!isObject(v)) return undefined;
  const { lat, lon } = v;
  if (typeof lat === 'number' && typeof lon === 'number') return inRange(lat, lon) ? { lat, lon } : undefined;
  const c = v.coordinates;
  if (v.type === 'Point' && Array.isArray(c) && c.length >= 2) {
    const [x, y] = c;
    if (typeof x === 'number' && typeof y === 'number' && inRange(y, x)) return { lat: y, lon: x };
  }
  return undefined;
}

/**
 * Is this value a geo_point_2d for field-type inference? Stricter than toPoint for text: both parts
 * need a decimal point, so a decimal comma ("12,5") or a pair of counts ("3,4") stays text.
 */
/**
 * `[lat, lon]`, the array form ODS pushes take for a geo_point_2d: two numbers, one at least with a
 * fraction (so that a multi-valued integer field [3, 4] is not taken for a point).
 */
function isLatLonPair(v: Value): v is [number, number] {
  return (
    Array.isArray(v) &&
    v.length === 2 &&
    typeof v[0] === 'number' &&
    typeof v[1] === 'number' &&
    !(Number.isInteger(v[0]) && Number.isInteger(v[1]))
  );
}

export function looksLikePoint(v: JsonValue): boolean {
  if (typeof v === 'string') {
    const m = LAT_LON.exec(v);
    return m !== null && m[1]!.includes('.') && m[2]!.includes('.') && toPoint(v) !== undefined;
  }
  return toPoint(v) !== undefined;
}

/** GeoJSON Point of a point (what a geom'…' literal evaluates to). */
export const pointJson = (p: Point): JsonObject => ({ type: 'Point', coordinates: [p.lon, p.lat] });

const WKT_POINT = new RegExp(String.raw`^\s*POINT\s*\(\s*(${NUM})\s+(${NUM})\s*\)\s*$`, 'i');

/**
 * A geom'…' literal: WKT `POINT(lon lat)` or a GeoJSON Point. Only points: the geo functions here
 * measure from a point (within_distance) or test points against a box (in_bbox).
 */
export function parseGeometry(text: string): Point | undefined {
  const m = WKT_POINT.exec(text);
  if (m) {
    const lon = Number(m[1]);
    const lat = Number(m[2]);
    return inRange(lat, lon) ? { lat, lon } : undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isObject(parsed as Value) && (parsed as JsonObject).type === 'Point'
    ? toPoint(parsed as JsonObject)
    : undefined;
}

/** Mean Earth radius (IUGG), metres. */
const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

/** Great-circle distance in metres (haversine: accurate to ~0.5% on the ellipsoid, at any distance). */
export function haversineMeters(a: Point, b: Point): number {
  const dLat = (b.lat - a.lat) * RAD;
  const dLon = (b.lon - a.lon) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Metres per distance unit ODSQL accepts after a number (10km); a bare number is metres. */
export const DISTANCE_UNITS: Readonly<Record<string, number>> = {
  m: 1,
  km: 1000,
  mi: 1609.344,
  yd: 0.9144,
  ft: 0.3048,
};

export interface Box {
  readonly south: number;
  readonly west: number;
  readonly north: number;
  readonly east: number;
}

/** The box with two opposite corners, in any order. */
export function boxOf(lat1: number, lon1: number, lat2: number, lon2: number): Box {
  return {
    south: Math.min(lat1, lat2),
    north: Math.max(lat1, lat2),
    west: Math.min(lon1, lon2),
    east: Math.max(lon1, lon2),
  };
}

/** Edges included: a point on the border of a map view is on the map. */
export const inBox = (p: Point, b: Box): boolean =>
  p.lat >= b.south && p.lat <= b.north && p.lon >= b.west && p.lon <= b.east;

// ---- clustering grid --------------------------------------------------------------------------

export const MIN_CLUSTER_PRECISION = 1;
export const MAX_CLUSTER_PRECISION = 20;
/** Web Mercator stops here (the square world of slippy maps). */
const MAX_MERCATOR_LAT = 85.05112878;

/**
 * The grid cell of a point at a cluster precision p (1–20, the zoom level of the map asking, as
 * ODS map widgets send it): the Web Mercator tile of zoom p + 2. A map shown at zoom p draws a
 * zoom-p tile as 256 px, so each cell is 64 × 64 px on screen whatever the latitude — about the
 * 50 px ODS widgets ask as cluster distance. Cell width is 360 / 2^(p+2) degrees of longitude
 * (p = 1: 45°, p = 10: 0.088° ≈ 6 km at 48°N, p = 20: 9 m at the equator).
 */
export function cellKey(p: Point, precision: number): string {
  const z = precision + 2;
  const n = 2 ** z;
  const x = Math.min(n - 1, Math.floor(((p.lon + 180) / 360) * n));
  const lat = Math.max(-MAX_MERCATOR_LAT, Math.min(MAX_MERCATOR_LAT, p.lat)) * RAD;
  const merc = (1 - Math.log(Math.tan(lat) + 1 / Math.cos(lat)) / Math.PI) / 2;
  const y = Math.max(0, Math.min(n - 1, Math.floor(merc * n)));
  return `${z}/${x}/${y}`;
}

/** The points of one cluster as they arrive: count, centroid and envelope. */
export class ClusterSummary {
  private count = 0;
  // running means rather than sums: points at one place give exactly that place back
  private lat = 0;
  private lon = 0;
  private south = Infinity;
  private north = -Infinity;
  private west = Infinity;
  private east = -Infinity;

  add(p: Point): void {
    this.count++;
    this.lat += (p.lat - this.lat) / this.count;
    this.lon += (p.lon - this.lon) / this.count;
    if (p.lat < this.south) this.south = p.lat;
    if (p.lat > this.north) this.north = p.lat;
    if (p.lon < this.west) this.west = p.lon;
    if (p.lon > this.east) this.east = p.lon;
  }

  /**
   * `{"cluster_center":{"lon","lat"},"count","bbox":[west,south,east,north]}`: the centre is the
   * centroid of the points (where they are, not the middle of the cell); bbox in GeoJSON order.
   * null when no point came.
   */
  result(): JsonValue {
    if (this.count === 0) return null;
    return {
      cluster_center: { lon: this.lon, lat: this.lat },
      count: this.count,
      bbox: [this.west, this.south, this.east, this.north],
    };
  }
}
