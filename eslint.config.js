// Flat config: typescript-eslint's type-aware recommended rules, no `any` escapes, and the one-way
// layering of src/ (see LAYERS below).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Imports run one way: main → server → app → protocols → http → domain → store, with ops beside the
 * protocols (background work on the domain and the store, with its own outgoing HTTP client in
 * ops/outgoing.ts), query beside the domain (the ODS query engine: ODSQL, explore, facets, catalog;
 * it runs on the domain and the store, and only protocols and ops use it) and the CLI apart (it
 * talks HTTP to a hub). errors.ts imports nothing, so every layer
 * may use it. Each entry: a folder (or top-level file) of src/ and what it must not import; the
 * message says why. Only the admin routes reach into ops (they run schedules and recovery on demand);
 * the CLI shares only plain JSON types and the CSV delimiter sniffing with the hub.
 */
const TOP = ['main', 'server', 'app', 'settings'];
const LAYERS = [
  {
    dir: 'store',
    forbidden: ['domain', 'query', 'http', 'protocols', 'ops', 'cli', ...TOP],
    why: 'the store is the bottom layer',
  },
  {
    dir: 'domain',
    forbidden: ['query', 'http', 'protocols', 'ops', 'cli', ...TOP],
    why: 'the domain knows the store only',
  },
  {
    dir: 'query',
    forbidden: ['http', 'protocols', 'ops', 'cli', ...TOP],
    why: 'the query engine runs on the domain and the store, beside the domain',
  },
  {
    dir: 'http',
    forbidden: ['protocols', 'ops', 'query', 'cli', ...TOP],
    why: 'the HTTP toolkit serves the protocols, it does not know them',
  },
  {
    dir: 'ops',
    forbidden: ['http', 'protocols', 'cli', ...TOP],
    why: 'background work runs on the domain and the store, beside the protocols',
  },
  {
    dir: 'protocols',
    forbidden: ['cli', ...TOP],
    why: 'protocols are mounted by the app, not the other way',
  },
  {
    dir: 'protocols',
    except: 'admin',
    forbidden: ['ops'],
    why: 'only the admin routes start background work',
  },
  {
    dir: 'cli',
    forbidden: ['app', 'server', 'settings', 'http', 'protocols', 'domain', 'query'],
    why: 'the CLI talks HTTP to a hub',
  },
  {
    dir: 'cli',
    forbidden: ['store/(?!types\\.js$)', 'ops/(?!snapshot\\.js$)'],
    why: 'the CLI shares only JSON types and CSV sniffing',
  },
];

/**
 * One block per layer and folder depth, so that `../` counts exactly up to src/: a pattern for
 * src/query/odsql/x.ts is `^../../(http|…)`. A name in `forbidden` is a folder or a top-level file
 * of src/; a name with a `/` is a regex of the path below src/. All rules of a folder go in one
 * block (a later block setting the same rule replaces it), with the `except` subfolder in its own.
 */
function layerRules() {
  const target = (name) => (name.includes('/') ? name : `${name}(/|\\.js$)`);
  const blocks = [];
  for (const dir of new Set(LAYERS.map((l) => l.dir))) {
    const entries = LAYERS.filter((l) => l.dir === dir);
    const excepted = [...new Set(entries.map((l) => l.except).filter(Boolean))];
    for (let depth = 1; depth <= 3; depth++) {
      const up = '\\.\\./'.repeat(depth);
      const patterns = (applies) =>
        entries.filter(applies).map(({ forbidden, why }) => ({
          regex: `^${up}(${forbidden.map(target).join('|')})`,
          message: `src/${dir}: ${why}`,
        }));
      const rule = (applies) => ({ 'no-restricted-imports': ['error', { patterns: patterns(applies) }] });
      const glob = `src/${dir}/${'*/'.repeat(depth - 1)}*.ts`;
      const deep = depth > 1 ? excepted : [];
      blocks.push({ files: [glob], ignores: deep.map((e) => `src/${dir}/${e}/**`), rules: rule(() => true) });
      for (const e of deep) {
        const inner = `src/${dir}/${e}/${'*/'.repeat(depth - 2)}*.ts`;
        blocks.push({ files: [inner], rules: rule((l) => l.except !== e) });
      }
    }
  }
  blocks.push(
    {
      files: ['src/errors.ts'],
      rules: {
        'no-restricted-imports': [
          'error',
          { patterns: [{ regex: '^\\.', message: 'errors.ts imports nothing: every layer uses it' }] },
        ],
      },
    },
    ...[
      ['src/server.ts', 'main|cli/'],
      ['src/app.ts', 'main|server|cli/'],
      ['src/settings.ts', '.*'],
    ].map(([file, forbidden]) => ({
      files: [file],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [{ regex: `^\\./(${forbidden})`, message: `${file}: imports run main → server → app` }],
          },
        ],
      },
    })),
  );
  return blocks;
}

/** The layering blocks alone: test/layering.test.ts lints snippets against them. */
export const layering = layerRules();

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: {
        // bin/ holds the plain-JS shim of the `hub` command (it loads tsx, then the TypeScript CLI);
        // the JSON-LD pool's worker entry and the start script are such shims too
        projectService: { allowDefaultProject: ['bin/*.js', 'scripts/*.js', 'src/domain/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...layering,
  {
    // the console's browser modules: plain JS checked by TypeScript (console/tsconfig.json), which
    // knows the DOM globals that no-undef does not
    files: ['console/**/*.js'],
    rules: { 'no-undef': 'off' },
  },
);
