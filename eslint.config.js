// Flat config: typescript-eslint's type-aware recommended rules, no `any` escapes.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: {
        // bin/ holds the plain-JS shim of the `hub` command (it loads tsx, then the TypeScript CLI);
        // the JSON-LD pool's worker entry is such a shim too
        projectService: { allowDefaultProject: ['bin/*.js', 'src/domain/*.mjs'] },
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
  {
    // the console's browser modules: plain JS checked by TypeScript (console/tsconfig.json), which
    // knows the DOM globals that no-undef does not
    files: ['console/**/*.js'],
    rules: { 'no-undef': 'off' },
  },
);
