import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ADMIN_TOKEN, tempDir } from './helpers/hub.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const HUB = `${process.execPath} --import tsx src/main.ts`;
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * Starts `node src/main.ts` (through `command`) in a process group of its own and collects its
 * stdout lines until `done` says so; then ends the group it started.
 */
async function linesUntil(
  command: string,
  args: string[],
  done: (lines: string[]) => boolean,
): Promise<string[]> {
  const dataDir = tempDir('hub-log-');
  const child: ChildProcess = spawn(command, args, {
    cwd: root,
    detached: true,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TERM: 'xterm',
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      HUB_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const lines: string[] = [];
      const timer = setTimeout(
        () => reject(new Error(`no end of output in 30 s: ${lines.join('\n')}`)),
        30_000,
      );
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${lines.join('\n')}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        lines.push(line);
        if (done(lines)) {
          clearTimeout(timer);
          resolve(lines);
        }
      });
    });
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('logs (pino, pretty on a terminal)', function () {
  this.timeout(60_000);

  it('when stdout is a pipe, then every line is one JSON object a log shipper can read', async () => {
    const lines = await linesUntil(process.execPath, ['--import', 'tsx', 'src/main.ts'], (l) =>
      l.at(-1)!.includes('hub listening'),
    );
    const entries = lines.map((l) => JSON.parse(l) as { level: number; time: number; msg: string });
    for (const e of entries) expect(e).to.include.keys('level', 'time', 'msg');
    const listening = entries.find((e) => e.msg === 'hub listening') as { level: number; url?: string };
    expect(listening.level).to.equal(30);
    expect(listening.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('when stdout is a terminal, then lines are pino-pretty’s: time, level name, message, fields', async () => {
    // script(1) (util-linux, on every Debian) gives the hub a pseudo-terminal as stdout
    const lines = (
      await linesUntil('script', ['-qfec', HUB, '/dev/null'], (l) =>
        /^\s+url: /.test(l.at(-1)!.replace(ANSI, '')),
      )
    ).map((l) => l.replace(ANSI, '').trim());
    const listening = lines.find((l) => l.includes('hub listening'))!;
    expect(() => JSON.parse(listening) as unknown).to.throw();
    expect(listening).to.match(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: hub listening/);
    expect(lines.slice(lines.indexOf(listening))).to.satisfy((after: string[]) =>
      after.some((l) => /^url: "http:\/\/127\.0\.0\.1:\d+"$/.test(l)),
    );
  });
});
