import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { ByteWriter, parquetWriteRows } from 'hyparquet-writer';
import type { FieldType } from '../../query/field-types.js';
import { toPoint } from '../../query/odsql/geo.js';
import type { JsonObject, JsonValue } from '../../store/types.js';

/**
 * The binary and GeoJSON exports (docs/ods.md#exports): each turns the stream of results the JSON
 * export would send into its format, streamed as it is produced.
 *
 * - geojson: a FeatureCollection; a result's first point (a geo_point_2d field, in any pushed form)
 *   or GeoJSON geometry object is the feature's geometry, every other field a property.
 * - xlsx: exceljs's streaming workbook writer: each row is committed as it comes; one sheet, a
 *   header row, numbers and booleans as such, objects as JSON text.
 * - parquet: hyparquet-writer's row writer, one row group per 1,000–100,000 rows, so memory is one
 *   row group whatever the export's size; int and double fields DOUBLE, booleans BOOLEAN, the rest
 *   UTF-8 text (objects as JSON text); columns the dataset's field types do not name (aggregates)
 *   take the type of their first values.
 */

/** A GeoJSON geometry object other than a point (a geo_shape): `{"type": "Polygon", "coordinates": …}`. */
function geometryOf(v: JsonValue | undefined): JsonObject | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  return typeof v.type === 'string' && Array.isArray(v.coordinates) ? v : undefined;
}

export async function* geojsonFeatures(
  results: AsyncIterable<JsonObject>,
  geoFields: readonly string[],
): AsyncGenerator<string> {
  yield '{"type":"FeatureCollection","features":[';
  let first = true;
  for await (const r of results) {
    let geometry: JsonObject | null = null;
    let used: string | undefined;
    for (const name of [...geoFields, ...Object.keys(r)]) {
      if (!Object.hasOwn(r, name)) continue;
      const p = geoFields.includes(name) ? toPoint(r[name]) : undefined;
      if (p) geometry = { type: 'Point', coordinates: [p.lon, p.lat] };
      else geometry = geometryOf(r[name]) ?? null;
      if (geometry) {
        used = name;
        break;
      }
    }
    const properties: JsonObject = {};
    for (const [k, v] of Object.entries(r)) if (k !== used) properties[k] = v;
    yield `${first ? '' : ','}${JSON.stringify({ type: 'Feature', geometry, properties })}`;
    first = false;
  }
  yield ']}';
}

const xlsxCell = (v: JsonValue | undefined): string | number | boolean | null =>
  v === undefined || v === null ? null : typeof v === 'object' ? JSON.stringify(v) : v;

/** The workbook written into a stream as rows arrive. */
export function xlsxStream(sheet: string, columns: string[], results: AsyncIterable<JsonObject>): Readable {
  const out = new PassThrough();
  const write = async (): Promise<void> => {
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({
      stream: out,
      useStyles: false,
      useSharedStrings: false,
    });
    // sheet names are at most 31 characters, without []:*?/\
    const ws = wb.addWorksheet(sheet.replace(/[[\]:*?/\\]/g, '_').slice(0, 31) || 'export');
    ws.addRow(columns).commit();
    for await (const r of results) {
      ws.addRow(columns.map((c) => xlsxCell(r[c]))).commit();
      // the zip stream buffers what the client has not read yet: wait for it
      if (out.writableNeedDrain) await once(out, 'drain');
    }
    ws.commit();
    await wb.commit();
  };
  write().catch((err: unknown) => out.destroy(err as Error));
  return out;
}

type ParquetType = 'DOUBLE' | 'BOOLEAN' | 'STRING';

function parquetTypeOf(t: FieldType | undefined): ParquetType | undefined {
  if (t === 'int' || t === 'double') return 'DOUBLE';
  if (t === 'boolean') return 'BOOLEAN';
  return t === undefined ? undefined : 'STRING';
}

function parquetValue(v: JsonValue | undefined, type: ParquetType | undefined): unknown {
  if (v === undefined || v === null) return null;
  if (type === 'DOUBLE') return typeof v === 'number' ? v : null;
  if (type === 'BOOLEAN') return typeof v === 'boolean' ? v : null;
  if (type === 'STRING') return typeof v === 'string' ? v : JSON.stringify(v);
  return typeof v === 'object' ? JSON.stringify(v) : v;
}

/** A hyparquet-writer sink that hands its bytes to a stream, a chunk at a time. */
function streamWriter(out: PassThrough): ByteWriter {
  const writer = new ByteWriter();
  const chunkSize = 1 << 20;
  const take = (): Uint8Array => {
    const chunk = new Uint8Array(writer.buffer.slice(0, writer.index));
    writer.index = 0;
    return chunk;
  };
  const ensure = writer.ensure.bind(writer);
  writer.ensure = (size: number) => {
    if (writer.index > chunkSize) out.write(take());
    ensure(size);
  };
  (writer as { flush?: () => Promise<void> }).flush = async () => {
    if (!out.write(take())) await once(out, 'drain');
  };
  writer.finish = () => {
    out.end(take());
  };
  return writer;
}

export function parquetStream(
  columns: string[],
  types: ReadonlyMap<string, FieldType>,
  results: AsyncIterable<JsonObject>,
): Readable {
  const out = new PassThrough();
  const typed = columns.map((name) => ({ name, type: parquetTypeOf(types.get(name)) }));
  async function* rows(): AsyncGenerator<Record<string, unknown>> {
    for await (const r of results) {
      const row: Record<string, unknown> = {};
      for (const c of typed) row[c.name] = parquetValue(r[c.name], c.type);
      yield row;
    }
  }
  const columnsSpec = typed.map((c) => (c.type ? { name: c.name, type: c.type } : { name: c.name }));
  Promise.resolve(parquetWriteRows({ writer: streamWriter(out), rows: rows(), columns: columnsSpec })).catch(
    (err: unknown) => out.destroy(err as Error),
  );
  return out;
}
