// The JSON-LD pool's worker entry (src/domain/jsonld-pool.ts). The hub runs as TypeScript through
// tsx: a thread started by `tsx` or `node --import tsx` inherits its loader, one started under
// tsx's API (bin/hub.js) does not and registers it here before loading the worker itself.
let worker;
try {
  worker = await import('./jsonld-worker.ts');
} catch (err) {
  if (err?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
  const { register } = await import('tsx/esm/api');
  register();
  // a failed import is cached by its URL: load it again under another one
  worker = await import('./jsonld-worker.ts?tsx');
}
export default worker.default;
