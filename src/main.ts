import { settingsFromEnv } from './settings.js';
import { startHub } from './server.js';
import { StoreOpenError } from './store/open.js';

/** Exit code of a start that found its LevelDB directory damaged (`hub --help` lists it too). */
const EXIT_DAMAGED = 5;

/** Process entry: config from the environment, start, and a graceful stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const hub = await startHub(settingsFromEnv());
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    hub.logger.info({ signal }, 'stopping');
    hub.close().then(
      () => process.exit(0),
      (err: unknown) => {
        hub.logger.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`hub: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof StoreOpenError && err.reason === 'damaged' ? EXIT_DAMAGED : 1);
});
