/**
 * Renders the error catalogue (src/errors.ts) into the two places a reader meets it: docs/errors.md
 * and the ErrorCode schema of spec/openapi.yaml. `npm run errors:render` writes both;
 * test/error-catalogue.test.ts fails when either differs from what this renders.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { ERROR_CATALOGUE, type ErrorCode } from '../src/errors.js';

export const ERRORS_DOC = fileURLToPath(new URL('../docs/errors.md', import.meta.url));
export const OPENAPI = fileURLToPath(new URL('../spec/openapi.yaml', import.meta.url));

const BEGIN =
  '    # ---- error catalogue: rendered from src/errors.ts by `npm run errors:render`; edit it there';
const END = '    # ---- end of the error catalogue';

const codes = (): ErrorCode[] =>
  (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).sort(
    (a, b) => ERROR_CATALOGUE[a].status - ERROR_CATALOGUE[b].status || a.localeCompare(b),
  );

const cell = (text: string): string => text.replace(/\|/g, '\\|');

/** docs/errors.md as prettier would leave it (`npm run lint` checks the docs' formatting too). */
export async function renderErrorsDoc(): Promise<string> {
  const rows = codes().map(
    (c) => `| \`${c}\` | ${ERROR_CATALOGUE[c].status} | ${cell(ERROR_CATALOGUE[c].meaning)} |`,
  );
  const text = [
    '# Error codes',
    '',
    'Every error the hub answers with carries one of these codes; the HTTP status always goes with',
    'the code. The table is rendered from `src/errors.ts` (`npm run errors:render`), the one place',
    'codes are defined; `spec/openapi.yaml` lists the same codes as its `ErrorCode` schema.',
    '',
    'How a code reaches the client depends on the dialect:',
    '',
    "- the hub's own body (admin, ICAR, UDA, JSON-LD, console):",
    '  `{"error": {"code": "DATASET_NOT_FOUND", "message": "…", "index": 3}}` — `index` names the',
    '  offending element of a pushed array;',
    '- Opendatasoft push: `{"status": "error", "errorcode": 404, "error": "…"}` (the status, or 10002 for',
    '  a used-up quota);',
    '- Opendatasoft explore and search: `{"error_code": "DatasetNotFoundError", "message": "…"}` — the',
    '  code in PascalCase, `ODSQLError` for ODSQL_ERROR and `InvalidRESTParameterError` for any other 400;',
    '- Obsrv: `{"params": {"status": "FAILED"}, "error": {"code": "DATA_INGESTION_INVALID_INPUT", …}}` —',
    '  every 400 is `DATA_INGESTION_INVALID_INPUT` and every 404 `DATASET_NOT_FOUND`, as in Obsrv; other',
    '  codes as below.',
    '',
    'A 429 or 503 carries `Retry-After` (seconds).',
    '',
    '| code | status | meaning |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
  const options = (await prettier.resolveConfig(ERRORS_DOC)) ?? {};
  return prettier.format(text, { ...options, filepath: ERRORS_DOC });
}

/** The ErrorCode schema block, two levels under components.schemas. */
export function renderOpenApiBlock(): string {
  const lines = [
    BEGIN,
    '    ErrorCode:',
    '      type: string',
    '      description: The stable code of every hub error; `title` is the HTTP status that goes with it.',
    '      oneOf:',
    ...codes().map(
      (c) =>
        `        - { const: ${c}, title: '${ERROR_CATALOGUE[c].status}', description: ${JSON.stringify(ERROR_CATALOGUE[c].meaning)} }`,
    ),
    END,
  ];
  return lines.join('\n');
}

/** The block as it stands in spec/openapi.yaml, or undefined when its markers are missing. */
export function openApiBlockOf(yaml: string): string | undefined {
  const from = yaml.indexOf(BEGIN);
  const to = yaml.indexOf(END);
  return from < 0 || to < from ? undefined : yaml.slice(from, to + END.length);
}

async function main(): Promise<void> {
  writeFileSync(ERRORS_DOC, await renderErrorsDoc());
  const yaml = readFileSync(OPENAPI, 'utf8');
  const current = openApiBlockOf(yaml);
  if (current === undefined) throw new Error(`${OPENAPI}: the error catalogue markers are missing`);
  writeFileSync(
    OPENAPI,
    yaml.replace(current, () => renderOpenApiBlock()),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
