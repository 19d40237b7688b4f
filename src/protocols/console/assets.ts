import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';

/** A file of the console, read once at start-up. */
export interface Asset {
  readonly bytes: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** The only file types the console serves; anything else in the folder stays private. */
const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
};

/** Lower-case name, one dot, a whitelisted type: no dot files, no `..`, nothing to decode. */
const ASSET_NAME = /^[a-z0-9][a-z0-9-]{0,63}\.(html|js|css|svg|png)$/;

export function isAssetName(name: string): boolean {
  return ASSET_NAME.test(name);
}

/**
 * Reads the console's folder once: its regular files (symbolic links and subfolders are skipped)
 * whose names pass `isAssetName`. Requests are then answered from this map by exact name, so no URL
 * ever becomes a file system path: traversal (`..`, encoded or not), symlinks out of the folder and
 * files created after start-up cannot be reached. Editing the console needs a restart of the hub.
 */
export function loadAssets(dir: string): ReadonlyMap<string, Asset> {
  const root = realpathSync(dir);
  const assets = new Map<string, Asset>();
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isFile() || !isAssetName(entry.name)) continue;
    const file = join(root, entry.name);
    // a regular file by lstat cannot point elsewhere; checked again in case the folder changed meanwhile
    if (!realpathSync(file).startsWith(root + sep)) continue;
    const bytes = readFileSync(file);
    const ext = entry.name.slice(entry.name.lastIndexOf('.') + 1);
    assets.set(entry.name, {
      bytes,
      type: TYPES[ext]!,
      etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`,
    });
  }
  return assets;
}
