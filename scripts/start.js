#!/usr/bin/env node
// `npm start`: the hub as compiled JavaScript (dist/, built by tsc from src/). It builds first when
// dist/ is missing or older than any source; a production install without TypeScript
// (`npm ci --omit=dev`) and no dist/ runs the TypeScript through tsx instead. Compiled, the hub
// starts with half the CPU and memory it takes through tsx (docs/operations.md, "Starting in
// production").
import { execFileSync } from 'node:child_process';
import console from 'node:console';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
/** written after a build that succeeded: its mtime is the build's */
const stamp = join(dist, '.built');

/** the newest mtime of what the build reads */
function newestSource(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs; // a deleted file shows as a newer directory
  for (const name of readdirSync(path)) newest = Math.max(newest, newestSource(join(path, name)));
  return newest;
}

function stale() {
  if (!existsSync(stamp)) return true;
  const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];
  return Math.max(...inputs.map((p) => newestSource(join(root, p)))) > statSync(stamp).mtimeMs;
}

function typescript() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    return undefined;
  }
}

if (stale()) {
  const tsc = typescript();
  if (tsc) {
    console.error('building dist/ (tsc -p tsconfig.build.json)…');
    rmSync(dist, { recursive: true, force: true });
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
    writeFileSync(stamp, `${new Date().toISOString()}\n`);
  } else if (!existsSync(join(dist, 'main.js'))) {
    console.error('no dist/ and no TypeScript to build it: running src/ through tsx');
    const { register } = await import('tsx/esm/api');
    register();
    await import('../src/main.ts');
    // the hub runs until it is stopped
  } else {
    console.error('dist/ may be older than src/, and TypeScript is not installed to rebuild it');
  }
}
if (existsSync(join(dist, 'main.js'))) await import('../dist/main.js');
