import { expect } from 'chai';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';

/** eslint.config.js is plain JS without types: its layering blocks, as ESLint configs. */
const CONFIG: string = '../eslint.config.js';
const { layering } = (await import(CONFIG)) as { layering: Linter.Config[] };

/** The import rules of eslint.config.js, run on one line of source as if it were in `file`. */
function restricted(file: string, source: string): string[] {
  const linter = new Linter({ configType: 'flat' });
  const config: Linter.Config[] = [
    { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
    ...layering,
  ];
  return linter
    .verify(source, config, file)
    .filter((m) => m.ruleId === 'no-restricted-imports')
    .map((m) => m.message);
}

describe('the import rules (eslint.config.js)', () => {
  it('when a module imports a layer above its own, then lint names the rule it breaks', () => {
    const backImports: Array<[string, string]> = [
      ['src/store/level/engine.ts', "import { checkDatasetId } from '../../domain/ids.js';"],
      ['src/store/types.ts', "import type { Hub } from '../domain/hub.js';"],
      ['src/domain/ids.ts', "import { cors } from '../http/cors.js';"],
      ['src/query/odsql/query.ts', "import type { ProtocolDeps } from '../../protocols/deps.js';"],
      ['src/domain/datasets.ts', "import { compileQuery } from '../query/odsql/query.js';"],
      ['src/domain/dataset-context.ts', "import { recordFields } from '../query/field-types.js';"],
      ['src/store/level/engine.ts', "import { tokenize } from '../../query/odsql/lexer.js';"],
      ['src/query/explore.ts', "import { odsError } from '../protocols/ods/errors.js';"],
      ['src/http/errors.ts', "import { tokenize } from '../query/odsql/lexer.js';"],
      ['src/domain/hub.ts', "export { startOperations } from '../ops/index.js';"],
      ['src/http/access.ts', "import { mountIcar } from '../protocols/icar/routes.js';"],
      ['src/http/cors.ts', "import type { Limits } from '../settings.js';"],
      ['src/ops/status.ts', "import { cors } from '../http/cors.js';"],
      ['src/protocols/icar/routes.ts', "import { operationsOf } from '../../ops/index.js';"],
      ['src/protocols/ods/routes.ts', "import { createApp } from '../../app.js';"],
      ['src/cli/push.ts', "import { checkDatasetId } from '../domain/ids.js';"],
      ['src/cli/pull.ts', "import { openStore } from '../store/open.js';"],
      ['src/app.ts', "import { startHub } from './server.js';"],
      ['src/errors.ts', "import type { Limits } from './settings.js';"],
    ];
    const missed = backImports.filter(([file, source]) => restricted(file, source).length === 0);
    expect(missed, 'back-imports lint lets through').to.deep.equal([]);
  });

  it('when a module imports its own layer or one below, then lint has nothing to say', () => {
    const allowed: Array<[string, string]> = [
      ['src/domain/hub.ts', "import type { Store } from '../store/types.js';"],
      ['src/query/odsql/query.ts', "import { hubError } from '../../errors.js';"],
      ['src/query/odsql/compile.ts', "import { setField } from '../../domain/json-object.js';"],
      ['src/query/explore.ts', "import type { Store } from '../store/types.js';"],
      ['src/protocols/ods/explore-routes.ts', "import { compileQuery } from '../../query/odsql/query.js';"],
      ['src/ops/schedule-translate.ts', "import { FieldTypes } from '../query/field-types.js';"],
      ['src/http/access.ts', "import type { Hub } from '../domain/hub.js';"],
      ['src/ops/forwarder.ts', "import { describeHttpError } from './outgoing.js';"],
      ['src/protocols/admin/ops-routes.ts', "import { recoverDataset } from '../../ops/recovery.js';"],
      ['src/protocols/icar/routes.ts', "import { serveChanges } from '../pull/feeds.js';"],
      ['src/cli/push.ts', "import type { JsonObject } from '../store/types.js';"],
      ['src/cli/source.ts', "import { detectDelimiter } from '../ops/snapshot.js';"],
      ['src/server.ts', "import { createApp } from './app.js';"],
    ];
    for (const [file, source] of allowed)
      expect(restricted(file, source), `${file}: ${source}`).to.deep.equal([]);
  });
});
