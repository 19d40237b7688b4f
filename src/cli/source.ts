import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { pipeline } from 'node:stream';
import { CsvError, parse as parseCsv } from 'csv-parse';
import { detectDelimiter } from '../ops/snapshot.js';
import type { JsonObject } from '../store/types.js';
import { usageError } from './errors.js';

export type FileFormat = 'json' | 'ndjson' | 'csv';

export interface Item {
  readonly value: JsonObject;
  /** the item as JSON text */
  readonly text: string;
  /** bytes of the file read up to and including this item (for progress) */
  readonly offset: number;
}

export interface Source {
  readonly format: FileFormat;
  readonly size: number;
  readonly items: AsyncGenerator<Item>;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** --format, else the extension, else the first non-blank character: `[` JSON, `{` NDJSON, else CSV. */
async function formatOf(file: string, explicit: string | undefined): Promise<FileFormat> {
  if (explicit !== undefined) {
    if (explicit === 'json' || explicit === 'ndjson' || explicit === 'csv') return explicit;
    throw usageError(`--format must be json, ndjson or csv, got '${explicit}'`);
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  const head = (await readHead(file, 4096)).trimStart();
  if (head.startsWith('[')) return 'json';
  if (head.startsWith('{')) return 'ndjson';
  if (ext === '.json') return 'json';
  return 'csv';
}

async function readHead(file: string, bytes: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/** Opens a JSON array, NDJSON or CSV (header row) file as a stream of JSON objects. */
export async function openSource(file: string, explicit?: string): Promise<Source> {
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw usageError(`'${file}' is not a file`);
    size = s.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw usageError(`no such file: '${file}'`);
    throw err;
  }
  const format = await formatOf(file, explicit);
  const items =
    format === 'json' ? jsonItems(file, size) : format === 'ndjson' ? ndjsonItems(file) : csvItems(file);
  return { format, size, items };
}

async function* jsonItems(file: string, size: number): AsyncGenerator<Item> {
  // a JSON array has to be parsed whole; NDJSON is the format for files too big for that
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw usageError(`'${file}' is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value)) throw usageError(`'${file}' must hold a JSON array of objects`);
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const v: unknown = value[i];
    if (!isObject(v)) throw usageError(`element ${i} of '${file}' is not a JSON object`);
    yield { value: v, text: JSON.stringify(v), offset: Math.round((size * (i + 1)) / n) };
  }
}

async function* ndjsonItems(file: string): AsyncGenerator<Item> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let rest = '';
  let line = 0;
  let offset = 0;
  const parse = (text: string): Item | undefined => {
    line++;
    offset += Buffer.byteLength(text) + 1;
    const t = text.trim();
    if (t === '') return undefined;
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (err) {
      throw usageError(`line ${line} of '${file}' is not valid JSON: ${(err as Error).message}`);
    }
    if (!isObject(v)) throw usageError(`line ${line} of '${file}' is not a JSON object`);
    return { value: v, text: t, offset };
  };
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let text: string;
    try {
      text = rest + decoder.decode(chunk, { stream: true });
    } catch {
      throw usageError(`'${file}' is not valid UTF-8`);
    }
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      const item = parse(l);
      if (item) yield item;
    }
  }
  const last = parse(rest + decoder.decode());
  if (last) yield last;
}

async function* csvItems(file: string): AsyncGenerator<Item> {
  const firstLine = (await readHead(file, 64 * 1024)).split('\n')[0] ?? '';
  const parser = parseCsv({
    columns: true,
    bom: true,
    skip_empty_lines: true,
    delimiter: detectDelimiter(firstLine),
  });
  // a read error destroys the parser too, so the loop below ends with it
  pipeline(createReadStream(file), parser, () => undefined);
  try {
    for await (const row of parser as AsyncIterable<Record<string, string>>) {
      yield { value: row, text: JSON.stringify(row), offset: parser.info.bytes };
    }
  } catch (err) {
    if (err instanceof CsvError) throw usageError(`'${file}' is not valid CSV: ${err.message}`);
    throw err;
  }
}
