// At start-up, before anything is registered: remove the files that processes which are gone left
// behind (a crash, SIGKILL, a power cut). Only names of our scheme are looked at; a file whose
// owner still runs (a second server sharing the directory) is left alone.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { runBounded } from './bounded.js';
import { parseTempName } from './names.js';
import { removeFile } from './removal.js';
import { invalidValue } from '../../shared/errors.js';

export interface StartupSweepResult {
  removed: number;
  bytes: number;
  /** Files of dead owners that could not be removed (left for the next start). */
  failed: number;
  /** Files of owners that still run. */
  keptLive: number;
  durationMs: number;
}

export interface StartupSweepOptions {
  concurrency: number;
  /** Replaceable for tests; the real check is `process.kill(pid, 0)`. */
  isAlive?: (pid: number) => boolean;
}

/**
 * Files named with this process's own pid count as a dead predecessor's: the caller guarantees that
 * nothing in this process uses the directory yet, so they come from an earlier process that had
 * the same pid (every container restart that runs the server as pid 1, for instance).
 */
export async function sweepDeadOwners(dir: string, prefix: string, options: StartupSweepOptions): Promise<StartupSweepResult> {
  const started = performance.now();
  const isAlive = options.isAlive ?? isProcessAlive;
  const liveness = new Map<number, boolean>();
  const dead: string[] = [];
  let keptLive = 0;
  for (const name of await readdir(dir)) {
    const parsed = parseTempName(prefix, name);
    if (!parsed) continue;
    let alive = liveness.get(parsed.pid);
    if (alive === undefined) {
      alive = parsed.pid !== process.pid && isAlive(parsed.pid);
      liveness.set(parsed.pid, alive);
    }
    if (alive) keptLive++;
    else dead.push(join(dir, name));
  }
  let removed = 0;
  let bytes = 0;
  let failed = 0;
  await runBounded(dead, options.concurrency, async (path) => {
    const outcome = await removeFile(path);
    if (outcome.kind === 'removed') {
      removed++;
      bytes += outcome.bytes;
    } else if (outcome.kind === 'failed') {
      failed++;
    }
  });
  return { removed, bytes, failed, keptLive, durationMs: performance.now() - started };
}

/**
 * Whether a process with this pid exists, by sending it signal 0 (nothing is delivered): ESRCH
 * means it is gone; EPERM means it exists but belongs to another user. Any other answer counts as
 * alive, because a wrong "alive" only keeps a file until the next start, a wrong "dead" deletes a
 * live process's upload.
 */
export function isProcessAlive(pid: number): boolean {
  // pid 0 and negative pids address process groups: signalling them says nothing about one owner.
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new RangeError(invalidValue('pid', 'a positive integer', pid));
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
