import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { Got } from 'got';
import { fromHttpError, usageError } from './errors.js';

/**
 * `hub schemas add <dataset> <dir|files…>`: reads JSON schema files (a directory: every *.json under
 * it, paths relative to it, so `../types/x.json` refs keep working; single files: by their name
 * relative to the current directory) and adds them to the dataset's schema set in one request
 * (POST /datasets/{id}/schemas). The hub compiles the whole set before it keeps any of it.
 */
export async function collectSchemaFiles(inputs: readonly string[]): Promise<Record<string, unknown>> {
  const files: Record<string, unknown> = {};
  const add = async (file: string, root: string) => {
    const path = relative(root, file).split(sep).join('/');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw usageError(`cannot read ${file}: ${(err as Error).message}`);
    }
    try {
      files[path] = JSON.parse(text);
    } catch (err) {
      throw usageError(`${file} is not JSON: ${(err as Error).message}`);
    }
  };
  const walk = async (dir: string, root: string): Promise<void> => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full, root);
      else if (entry.isFile() && entry.name.endsWith('.json')) await add(full, root);
    }
  };
  for (const input of inputs) {
    const full = resolve(input);
    let isDir: boolean;
    try {
      isDir = (await stat(full)).isDirectory();
    } catch {
      throw usageError(`no such file or directory: ${input}`);
    }
    if (isDir) await walk(full, full);
    else await add(full, process.cwd());
  }
  if (Object.keys(files).length === 0) throw usageError('no *.json schema files found');
  return files;
}

export async function addSchemas(
  http: Got,
  dataset: string,
  inputs: readonly string[],
  types: Record<string, string> = {},
): Promise<{ version: number; files: string[]; types: Record<string, string> }> {
  const files = await collectSchemaFiles(inputs);
  try {
    return await http
      .post(`datasets/${encodeURIComponent(dataset)}/schemas`, {
        json: { files, types },
        retry: { limit: 0 },
      })
      .json();
  } catch (err) {
    throw fromHttpError(err, `adding schemas to ${dataset}`);
  }
}
