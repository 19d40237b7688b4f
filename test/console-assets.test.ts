import { expect } from 'chai';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAssets } from '../src/protocols/console/assets.js';
import { tempDir } from './helpers/hub.js';

/**
 * The console's folder is read once at start-up into a map that requests look up by exact name.
 * What the map may hold is decided here; the HTTP tests (console-routes) show that nothing else is
 * reachable by URL.
 */
describe('console assets: what the console folder may serve', () => {
  let root: string;
  let dir: string;
  before(() => {
    root = tempDir('console-assets-');
    dir = join(root, 'console');
    mkdirSync(dir);
    writeFileSync(join(root, 'secret.js'), 'the admin token');
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    writeFileSync(join(dir, 'main.js'), 'export {};');
    writeFileSync(join(dir, 'style-2.css'), 'body{}');
    writeFileSync(join(dir, 'logo.svg'), '<svg/>');
    writeFileSync(join(dir, 'tsconfig.json'), '{}');
    writeFileSync(join(dir, '.env'), 'SECRET=1');
    writeFileSync(join(dir, 'notes.md'), '# notes');
    writeFileSync(join(dir, 'Upper.js'), 'export {};');
    writeFileSync(join(dir, 'two.dots.js'), 'export {};');
    mkdirSync(join(dir, 'sub.js'));
    symlinkSync(join(root, 'secret.js'), join(dir, 'linked.js'));
    symlinkSync(join(dir, 'main.js'), join(dir, 'alias.js'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('when the folder is loaded, then only regular files with a plain lower-case name of a web type are kept', () => {
    const assets = loadAssets(dir);
    expect([...assets.keys()].sort()).to.deep.equal(['index.html', 'logo.svg', 'main.js', 'style-2.css']);
  });

  it('when a file is a symbolic link, even to a file inside the folder, then it is not served', () => {
    const assets = loadAssets(dir);
    expect(assets.has('linked.js')).to.equal(false);
    expect(assets.has('alias.js')).to.equal(false);
    for (const a of assets.values()) expect(a.bytes.toString()).to.not.include('admin token');
  });

  it('when files are loaded, then each has its content type and an ETag of its bytes', () => {
    const assets = loadAssets(dir);
    expect(assets.get('index.html')?.type).to.equal('text/html; charset=utf-8');
    expect(assets.get('main.js')?.type).to.equal('text/javascript; charset=utf-8');
    expect(assets.get('style-2.css')?.type).to.equal('text/css; charset=utf-8');
    expect(assets.get('logo.svg')?.type).to.equal('image/svg+xml');
    const etag = assets.get('main.js')!.etag;
    writeFileSync(join(dir, 'main.js'), 'export const changed = 1;');
    expect(loadAssets(dir).get('main.js')!.etag).to.not.equal(etag);
  });
});
