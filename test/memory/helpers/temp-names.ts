// Builds names of the registry's documented scheme, `<prefix><pid>-<16 hex digits>[.ext]`,
// independently of src/ so that a change of the scheme shows up as a failing test.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function nameFor(pid: number, ext = '.wav', prefix = 'talk2me-'): string {
  return `${prefix}${pid}-${randomBytes(8).toString('hex')}${ext}`;
}

/** The pid of a process that has exited (and been reaped). */
export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  if (child.pid === undefined || child.status !== 0) throw new Error('could not run a short-lived child');
  return child.pid;
}
