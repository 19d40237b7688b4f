import type { Expr } from './ast.js';
import type { FunctionProblem, ScalarFunction } from './functions.js';
import {
  ClusterSummary,
  DISTANCE_UNITS,
  MAX_CLUSTER_PRECISION,
  MIN_CLUSTER_PRECISION,
  boxOf,
  cellKey,
  haversineMeters,
  inBox,
  parseGeometry,
  toPoint,
} from './geo.js';

/**
 * Geo functions on geo_point_2d fields (values `{"lon","lat"}`, `"lat,lon"` or GeoJSON points):
 *   within_distance(f, geom'POINT(lon lat)', 10km)   the point is at most that far (haversine)
 *   in_bbox(f, lat1, lon1, lat2, lon2)               the point is in the box of those corners
 *   geo_cluster(f, precision)                        the map cell of the point (grouping function)
 */

type NumberLiteral = Extract<Expr, { kind: 'literal' }> & { value: number };
const numberLiteral = (e: Expr): e is NumberLiteral => e.kind === 'literal' && typeof e.value === 'number';

function fieldFirst(name: string, args: readonly Expr[]): FunctionProblem | undefined {
  const star = args.find((a) => a.kind === 'star');
  if (star) return { message: `'*' is only allowed as count(*)`, at: star.start };
  return args[0]!.kind === 'field'
    ? undefined
    : { message: `the first argument of ${name}() must be a geo_point_2d field`, at: args[0]!.start };
}

/** A distance in metres: `10km`, `500m`, `2mi`, or a bare number of metres. */
function metres(e: Expr): number | undefined {
  if (e.kind === 'quantity') {
    const factor = DISTANCE_UNITS[e.unit.toLowerCase()];
    return factor === undefined ? undefined : e.value * factor;
  }
  return numberLiteral(e) ? e.value : undefined;
}

const WITHIN_DISTANCE: ScalarFunction = {
  name: 'within_distance',
  aggregate: false,
  check(args) {
    const usage = `within_distance(field, geom'POINT(lon lat)', 10km)`;
    if (args.length !== 3) return { message: `within_distance() takes 3 arguments: ${usage}` };
    const bad = fieldFirst('within_distance', args);
    if (bad) return bad;
    const centre = args[1]!;
    if (centre.kind !== 'typed' || centre.type !== 'geom')
      return { message: `the centre must be a geom'POINT(lon lat)' literal: ${usage}`, at: centre.start };
    const d = metres(args[2]!);
    if (d === undefined || !Number.isFinite(d) || d < 0) {
      return {
        message: `the distance must be a number with a unit (${Object.keys(DISTANCE_UNITS).join(', ')}), e.g. 10km`,
        at: args[2]!.start,
      };
    }
    return undefined;
  },
  compile(args, compileArg) {
    const ev = compileArg(args[0]!);
    const centre = parseGeometry((args[1] as Extract<Expr, { kind: 'typed' }>).text)!;
    const radius = metres(args[2]!)!;
    // a degree of latitude is never shorter than 110.5 km: points further north or south than
    // that bound are out without trigonometry
    const latSlack = radius / 110_500;
    return (row) => {
      const p = toPoint(ev(row));
      if (!p) return false;
      if (Math.abs(p.lat - centre.lat) > latSlack) return false;
      return haversineMeters(p, centre) <= radius;
    };
  },
};

const IN_BBOX: ScalarFunction = {
  name: 'in_bbox',
  aggregate: false,
  check(args) {
    const usage = 'in_bbox(field, lat1, lon1, lat2, lon2)';
    if (args.length !== 5) return { message: `in_bbox() takes 5 arguments: ${usage}` };
    const bad = fieldFirst('in_bbox', args);
    if (bad) return bad;
    for (let i = 1; i < 5; i++) {
      const a = args[i]!;
      if (!numberLiteral(a))
        return { message: `the corners of in_bbox() must be numbers: ${usage}`, at: a.start };
      const limit = i % 2 === 1 ? 90 : 180;
      if (Math.abs(a.value) > limit) {
        return { message: `${i % 2 === 1 ? 'a latitude' : 'a longitude'} is within ±${limit}`, at: a.start };
      }
    }
    return undefined;
  },
  compile(args, compileArg) {
    const ev = compileArg(args[0]!);
    const [lat1, lon1, lat2, lon2] = args.slice(1).map((a) => (a as NumberLiteral).value);
    const box = boxOf(lat1!, lon1!, lat2!, lon2!);
    return (row) => {
      const p = toPoint(ev(row));
      return p !== undefined && inBox(p, box);
    };
  },
};

const GEO_CLUSTER: ScalarFunction = {
  name: 'geo_cluster',
  aggregate: false,
  check(args) {
    const usage = 'geo_cluster(field, precision)';
    if (args.length !== 2) return { message: `geo_cluster() takes 2 arguments: ${usage}` };
    const bad = fieldFirst('geo_cluster', args);
    if (bad) return bad;
    const p = args[1]!;
    if (
      !numberLiteral(p) ||
      !Number.isInteger(p.value) ||
      p.value < MIN_CLUSTER_PRECISION ||
      p.value > MAX_CLUSTER_PRECISION
    ) {
      return {
        message: `the precision of geo_cluster() is an integer from ${MIN_CLUSTER_PRECISION} to ${MAX_CLUSTER_PRECISION} (the map's zoom level)`,
        at: p.start,
      };
    }
    return undefined;
  },
  /** per record: its cell (see cellKey), null without a point */
  compile(args, compileArg) {
    const ev = compileArg(args[0]!);
    const precision = (args[1] as NumberLiteral).value;
    return (row) => {
      const p = toPoint(ev(row));
      return p ? cellKey(p, precision) : null;
    };
  },
  /** per group: centre, count and bounding box of its points */
  groupSummary(args, compileArg) {
    const ev = compileArg(args[0]!);
    return () => {
      const summary = new ClusterSummary();
      return {
        add(row) {
          const p = toPoint(ev(row));
          if (p) summary.add(p);
        },
        result: () => summary.result(),
      };
    };
  },
};

/** The geo predicates and clustering, for the built-in list (builtins.ts). */
export const GEO_FUNCTIONS: readonly ScalarFunction[] = [WITHIN_DISTANCE, IN_BBOX, GEO_CLUSTER];
