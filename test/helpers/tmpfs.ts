import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

/** A small disk of a test's own, to fill (ENOSPC): a tmpfs mounted on `dir`. Root only. */
export function mountTmpfs(dir: string, sizeMb: number): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]);
}

/** Unmounts it and removes the mount point. */
export function umount(dir: string): void {
  try {
    execFileSync('umount', [dir]);
  } catch {
    // still busy (a child being killed, a file the closing store still holds) or not mounted:
    // detach it, the kernel frees it when idle
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      // it was not mounted (a failed set-up)
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
