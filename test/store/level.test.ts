import { rmSync } from 'node:fs';
import { Level } from 'level';
import { LevelStore } from '../../src/store/level/engine.js';
import { tempDir } from '../helpers/hub.js';
import { storeContract } from './contract/index.js';
import type { EngineFactory } from './contract/support.js';
import { graphStoreContract } from './graph-contract.js';

const factory: EngineFactory = {
  name: 'LevelDB',
  features: {},
  async create() {
    const dir = tempDir('store-level-');
    return {
      open: (tuning) => LevelStore.open(dir, tuning),
      destroy: async () => rmSync(dir, { recursive: true, force: true }),
      async makeNewer() {
        const db = new Level<string, string>(dir);
        await db.put('g!format', '999');
        await db.close();
      },
    };
  },
};

storeContract(factory);
graphStoreContract(factory);
