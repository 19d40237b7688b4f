import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

/**
 * The docs are the contract users read: a link that leads nowhere, or an example calling a path the
 * OpenAPI does not have, is a broken promise. Read as text, no hub needed.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DOCS = join(ROOT, 'docs');
const docPages = readdirSync(DOCS)
  .filter((f) => f.endsWith('.md'))
  .map((f) => join(DOCS, f));
const pages = [join(ROOT, 'README.md'), join(ROOT, 'bench', 'README.md'), ...docPages].filter(existsSync);
const rel = (file: string): string => relative(ROOT, file);
const text = (file: string): string => readFileSync(file, 'utf8');

/** Markdown without its fenced code blocks (links inside code are not links). */
function prose(md: string): string {
  return md.replace(/^```[\s\S]*?^```/gm, '');
}

function codeBlocks(md: string): string[] {
  return [...md.matchAll(/^```\w*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces → '-'. */
function anchors(md: string): Set<string> {
  const out = new Set<string>();
  for (const m of prose(md).matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const slug = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    out.add(slug);
  }
  return out;
}

/** Relative links of a page: [text](target), targets that are not URLs or mail addresses. */
function relativeLinks(md: string): string[] {
  return [...prose(md).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

interface Operation {
  method: string;
  path: string;
}

/** Every curl call of a code block: its method and its path on a hub (variables like E=$HUB/… resolved). */
function curlCalls(block: string): Operation[] {
  const lines = block.replace(/\\\n\s*/g, ' ').split('\n');
  const vars = new Map<string, string>();
  const calls: Operation[] = [];
  for (const line of lines) {
    for (const m of line.matchAll(/(?:^|\s)([A-Z]+)=(\$[A-Z]+\/[^\s;'"]*)/g)) vars.set(m[1]!, m[2]!);
    if (!/(^|[\s(])curl\s/.test(line)) continue;
    const url = /["']?(\$[A-Z]+|https?:\/\/127\.0\.0\.1:\d+)(\/[^\s"'?]*)?/.exec(
      line.slice(line.indexOf('curl')),
    );
    if (!url) continue;
    let base = url[1]!;
    let path = url[2] ?? '/';
    const known = vars.get(base.slice(1));
    if (known !== undefined) {
      const k = /^(\$[A-Z]+)(\/.*)$/.exec(known)!;
      base = k[1]!;
      path = k[2]! + (url[2] ?? '');
    }
    if (!['$HUB', '$CLOUD'].includes(base) && !base.startsWith('http')) continue;
    const explicit = /\s-X\s*([A-Z]+)/.exec(line)?.[1];
    const method = explicit
      ? explicit.toLowerCase()
      : /\s-s?I\b/.test(line) || /\s-G\b/.test(line)
        ? 'get'
        : /\s(-d|--data-binary|--data-urlencode)\s/.test(line)
          ? 'post'
          : 'get';
    calls.push({ method, path: path.length > 1 ? path.replace(/\/$/, '') : path });
  }
  return calls;
}

function specMatcher(): (op: Operation) => boolean {
  const spec = parseYaml(readFileSync(join(ROOT, 'spec', 'openapi.yaml'), 'utf8')) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const templates = Object.entries(spec.paths).map(([p, item]) => ({
    re: new RegExp(`^${p.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    methods: Object.keys(item),
  }));
  return (op) => templates.some((t) => t.re.test(op.path) && t.methods.includes(op.method));
}

describe('the docs (README.md, docs/, bench/README.md)', () => {
  it('when a page links to a file of the repository, then that file exists, and so does the heading its #anchor names', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const link of relativeLinks(text(page))) {
        const [target, anchor] = link.split('#') as [string, string | undefined];
        const file = target === '' ? page : resolve(dirname(page), target);
        if (!existsSync(file)) {
          broken.push(`${rel(page)}: ${link} (no such file)`);
          continue;
        }
        if (anchor && statSync(file).isFile() && file.endsWith('.md') && !anchors(text(file)).has(anchor))
          broken.push(`${rel(page)}: ${link} (no such heading)`);
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it('when a page is in docs/, then both the README and the docs index link to it', () => {
    const linked = (from: string): Set<string> =>
      new Set(relativeLinks(text(from)).map((l) => resolve(dirname(from), l.split('#')[0]!)));
    const fromReadme = linked(join(ROOT, 'README.md'));
    const fromIndex = linked(join(DOCS, 'README.md'));
    const missing = docPages
      .filter((p) => !p.endsWith(`${'/'}README.md`))
      .flatMap((p) => [
        ...(fromReadme.has(p) ? [] : [`README.md → ${rel(p)}`]),
        ...(fromIndex.has(p) ? [] : [`docs/README.md → ${rel(p)}`]),
      ]);
    expect(missing).to.deep.equal([]);
  });

  it('when a curl example calls the hub, then the OpenAPI documents that path and method', () => {
    const documented = specMatcher();
    const calls = pages.flatMap((page) =>
      codeBlocks(text(page)).flatMap((b) => curlCalls(b).map((op) => ({ page: rel(page), ...op }))),
    );
    expect(calls.length, 'curl examples found').to.be.greaterThan(50);
    const undocumented = calls.filter((c) => !documented(c)).map((c) => `${c.page}: ${c.method} ${c.path}`);
    expect(undocumented).to.deep.equal([]);
  });

  it('when a curl example sends a file with @path, then that file is in the repository', () => {
    const missing: string[] = [];
    for (const page of pages) {
      for (const block of codeBlocks(text(page))) {
        for (const m of block.matchAll(/--data-binary @([\w.][\w./-]*)/g)) {
          if (!existsSync(join(ROOT, m[1]!))) missing.push(`${rel(page)}: ${m[1]}`);
        }
      }
    }
    expect(missing).to.deep.equal([]);
  });

  it('when the repository is read, then nothing refers to the old contract file or to a file outside the repository', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        if (['node_modules', '.git', 'data', 'dist'].includes(name)) continue;
        const full = join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (/\.(ts|js|md|ya?ml|json)$/.test(name) && name !== 'package-lock.json') {
          const body = text(full);
          if (full !== fileURLToPath(import.meta.url) && /API\.md|\.\.\/shared\//.test(body))
            offenders.push(rel(full));
        }
      }
    };
    walk(ROOT);
    expect(offenders).to.deep.equal([]);
  });
});
