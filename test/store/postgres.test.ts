import { PgStore } from '../../src/store/postgres/engine.js';
import { freshSchema, TEST_STORE_URL } from '../helpers/pg.js';
import { storeContract } from './contract.js';

if (TEST_STORE_URL) {
  storeContract({
    name: 'PostgreSQL',
    async create() {
      const schema = freshSchema();
      return {
        open: (tuning) => PgStore.open(schema.url, tuning),
        peer: () => PgStore.open(schema.url),
        destroy: () => schema.drop(),
      };
    },
  });
} else {
  describe('store contract: PostgreSQL', () => {
    it('is skipped: set TEST_STORE_URL (or run `npm run test:pg`) to run it');
  });
}
