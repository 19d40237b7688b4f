import { spawn } from 'node:child_process';

/** Runs apt-get with the dpkg lock wait the machine needs (another process may hold the lock). */
function aptGet(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('apt-get', ['-o', 'DPkg::Lock::Timeout=600', '-qq', ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`apt-get ${args.join(' ')} exited with ${code}`)),
    );
  });
}

/**
 * Installs a Debian package for a test's own set-up. Only root can; anyone else gets an error that
 * says in one line what to run. The package lists are refreshed only when the install fails (an
 * `apt-get update` costs time and the lists are usually there).
 */
export async function installDebianPackage(pkg: string, why: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${why}: run \`sudo apt-get install -y ${pkg}\` (or the tests as root, which installs it)`,
    );
  }
  try {
    await aptGet(['install', '-y', pkg]);
  } catch {
    await aptGet(['update']);
    await aptGet(['install', '-y', pkg]);
  }
}
